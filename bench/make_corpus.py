#!/usr/bin/env python3
# Kept as shared test data: the corpus generator the benchmarks and the corpus test use.
"""Deterministic generator of "seed file" news corpora (standard library only).

Each article in a seed file starts with a header line

    Title text FirstTag | Tag2 | Tag3

either repeated on the next line, or (about 30% of articles) followed by a line
"Release time:Apr 14, 2024 03:24 AM" (dates spread over 2023-2025). Then comes
a blank line and one or more body paragraphs separated by blank lines; a blank
line also separates an article from the next header. Titles and bodies are
English-like text (300-1500 body chars) with occasional quotes, &, <, >, and a
few non-ASCII characters (的, em-dashes, curly quotes). Tags come from a
vocabulary of T names (some multi-word) with a Zipf-like frequency, 2-7 per
article. Same arguments and seed -> byte-identical output (on a given Python).

    python3 make_corpus.py OUT_DIR --articles 100000 --files 100 --tags 200 --seed 1
"""
import argparse
import datetime as dt
import json
import os
import random

WORDS = """the a of to and in on for with by from at as that this its their new
official local national regional annual early late major local several more
fleet navy army port city village farm harvest market trade export import price
rice wheat grain water river bridge road railway station airport school student
teacher hospital doctor patient festival culture museum artist music film
science research laboratory energy power solar wind battery vehicle factory
worker company industry investment growth report data survey policy plan
program project meeting assembly delegation minister mayor committee council
government province county district region community family children visitors
tourists season summer winter spring autumn weather storm rain drought flood
rescue team volunteers police court law security exercise training drill
ship vessel crew sailors harbor coast island mountain forest park garden
technology network internet mobile platform service system digital smart
reached opened announced launched visited completed increased reduced began
held signed expanded improved welcomed attended arrived departed celebrated
produced recorded reported expected planned continued supported developed
quickly steadily widely jointly officially recently successfully further
today yesterday morning afternoon evening week month year decade century
percent million billion thousand hundred first second third final record""".split()
NAMES = "Li Wang Zhang Chen Liu Smith Garcia Müller Novak Okafor Tanaka Rossi".split()
TAG_NOUNS = """Assembly Navy Economy Culture Sports Health Education Science
Technology Agriculture Trade Tourism Energy Environment Transport Diplomacy
Defense Finance Housing Weather Space Arts Music Film Harvest Fleet Festival
Industry Innovation Policy Law Youth Heritage Ocean Rail Aviation Mining""".split()
TAG_MODS = """Summer Winter Spring Autumn Chinese Global Local Rural Urban Green
Digital Maritime National Regional Coastal Northern Southern Eastern Western
Smart Clean Public Open Modern Ancient""".split()
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
EXTRAS = [  # templates for the occasional "awkward" sentence; {} is a clause
    '"{}," said {}.', "{}, according to the R&D team at {} & Partners.",
    "Output rose by <5% while costs stayed >2 billion — {}.",
    "Officials called it “{}” ({}).", "The so-called <b>{}</b> plan & its critics.",
    "Residents of 中国的 {} district welcomed the café opening — {}.",
]


def clause(rng, lo=5, hi=14):
    return " ".join(rng.choices(WORDS, k=rng.randint(lo, hi)))


def sentence(rng):
    if rng.random() < 0.06:
        tpl = rng.choice(EXTRAS)
        args = [clause(rng, 3, 8) if i == 0 else rng.choice(NAMES)
                for i in range(tpl.count("{}"))]
        s = tpl.format(*args)
        return s[0].upper() + s[1:]
    return clause(rng).capitalize() + rng.choice("......!?")


def tag_vocab(rng, n):
    """n distinct tag names, about a third of them multi-word, in Zipf rank order."""
    single = list(dict.fromkeys(TAG_NOUNS + [w.capitalize() for w in WORDS
                                        if len(w) > 5 and not w.endswith(("ed", "ly"))]))
    multi = [f"{m} {t}" for m in TAG_MODS for t in TAG_NOUNS]
    rng.shuffle(single)
    rng.shuffle(multi)
    n_multi = max(n - len(single), n // 3)
    pool = single[: n - n_multi] + multi[:n_multi]
    pool += [f"Topic {i}" for i in range(n - len(pool))]
    rng.shuffle(pool)
    return pool[:n]


def article(rng, pool, vocab, cum, epoch):
    """Return (text, truth) for one article; truth is its intended fields."""
    k = min(len(vocab), rng.choice((2, 2, 3, 3, 3, 4, 4, 5, 6, 7)))
    tags = []
    while len(tags) < k:
        t = rng.choices(vocab, cum_weights=cum)[0]
        if t not in tags:
            tags.append(t)
    title = clause(rng, 4, 11).capitalize() + rng.choice(("", "", "", "!", "?"))
    if rng.random() < 0.3:
        title = title.title()
    if rng.random() < 0.05:
        title = title.replace(" and ", " & ", 1).replace(" the ", " “the” ", 1)
    if not title.endswith(("!", "?", ".")) and " " in tags[0]:
        # the first tag is glued to the title: without punctuation it must be one word
        single = [i for i, tag in enumerate(tags) if " " not in tag]
        if single:
            tags.insert(0, tags.pop(single[0]))
        else:
            title += "."
    header, t = f"{title} {' | '.join(tags)}", None
    if rng.random() < 0.3:
        t = epoch + dt.timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        header += f"\nRelease time:{MONTHS[t.month - 1]} {t.day}, {t:%Y %I:%M %p}"
    else:
        header += "\n" + header
    target = rng.randint(300, 1400)
    npar = rng.choice((1, 1, 1, 1, 2, 2, 3, 4))
    paras = []
    for _ in range(npar):
        words, n = [], 0
        while n < target // npar:
            s = rng.choice(pool)
            words.append(s)
            n += len(s) + 1
        paras.append(" ".join(words))
    truth = {"title": title, "tags": tags, "release": t and t.isoformat(), "paras": len(paras)}
    return header + "\n\n" + "\n\n".join(paras) + "\n", truth


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 1)[1])
    ap.add_argument("out_dir", help="directory to write seed files into (created)")
    ap.add_argument("--articles", type=int, default=1000, help="total articles (default 1000)")
    ap.add_argument("--files", type=int, default=10, help="number of files (default 10)")
    ap.add_argument("--tags", type=int, default=200, help="tag vocabulary size (default 200)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--truth", metavar="FILE",
                    help="also write intended fields as JSON lines (file, title, tags, ...)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    vocab = tag_vocab(rng, a.tags)
    cum, acc = [], 0.0
    for r in range(len(vocab)):  # Zipf-like: weight 1/rank^1.1
        acc += 1 / (r + 1) ** 1.1
        cum.append(acc)
    pool = [sentence(rng) for _ in range(20000)]
    epoch = dt.datetime(2023, 1, 1)
    os.makedirs(a.out_dir, exist_ok=True)
    width, truth = len(str(a.files)), []
    for i in range(a.files):
        n = a.articles // a.files + (i < a.articles % a.files)
        name = f"news_{i + 1:0{width}d}.txt"
        texts = []
        for _ in range(n):
            text, meta = article(rng, pool, vocab, cum, epoch)
            texts.append(text)
            if a.truth:
                truth.append(json.dumps({"file": name, **meta}, ensure_ascii=False))
        with open(os.path.join(a.out_dir, name), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(texts))
    if a.truth:
        with open(a.truth, "w", encoding="utf-8") as f:
            f.write("\n".join(truth) + "\n")


if __name__ == "__main__":
    main()
