#!/usr/bin/env python3
"""Proof under fire: `seedfeeds serve` for ten minutes under load, file churn and
kill -9, checked all along against the promises the README makes.

    python bench/soak.py [--minutes 10] [--clients 32] [--reconcile 10] [--seed N]

The server runs on 127.0.0.1 (a free port) over a generated 10,000-article corpus in
a temp folder, while, at once:

- churn adds, edits (bodies and headlines), renames, moves into subfolders and
  deletes seed files: some 20 at once, some written slowly through one open file,
  some binary or badly encoded;
- 32 clients poll every kind of URL with conditional GETs, as feed readers do;
- about once a minute the server is killed with SIGKILL and started again.

The promises checked, each violation printed as it happens with its evidence:

1. Every answer is a 304 or a valid document (feedparser finds no fault in Atom or
   RSS, JSON Feed 1.1 parses, OPML parses, pages are whole HTML); never a 5xx.
2. An article in seeds/ for longer than the reconcile period plus a margin (one
   pass on a busy machine) is published: its page is served, and it is in every
   feed whose newest-N window it belongs to.
3. An article's id and its `published` never change.
4. No feed shows an article all of whose files have been gone (deleted, or their
   text replaced) for longer than that; none before its release time; none that
   only a half-written file held.
5. The server's memory and open files stay flat over each of its lifetimes, and
   it logs no error.

What the server should publish is worked out here, independently of the server,
from the bytes this script wrote: the server's own reader (``parse_seed``) gives
each version's article ids, uuid5 of headline and release time, and the script
keeps the times each article came and went. Exit status 1 if a promise broke.
"""

from __future__ import annotations

import argparse
import calendar
import contextlib
import gzip
import hashlib
import http.client
import importlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NamedTuple
from xml.etree import ElementTree

import feedparser

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "bench" / "make_corpus.py"
FIRST_SEEN_SLACK = 60.0  # s: a pass may take its time stamp this long before it reads a file
WARM_UP = 10.0  # s after a start before memory and open files count
SAMPLE_EVERY = 2.0  # s between memory samples and window audits
MIB = 1024 * 1024


# --- the plan ------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What one soak run does; every number is a command-line option."""

    minutes: float
    articles: int
    files: int
    tags: int
    reconcile: float
    margin: float
    entries: int
    clients: int
    crash_every: float
    seed: int
    keep: bool
    tmp: str | None

    @property
    def settle(self) -> float:
        """How long a change may take to be published: the reconcile heals anything
        the watcher missed, and one pass on a busy machine finishes it."""
        return self.reconcile + self.margin


def parse_plan(argv: list[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    add = parser.add_argument
    add("--minutes", type=float, default=10.0, help="length of the run (default 10)")
    add("--articles", type=int, default=10_000, help="corpus articles (default 10,000)")
    add("--files", type=int, default=100, help="corpus files (default 100)")
    add("--tags", type=int, default=200, help="corpus tag vocabulary (default 200)")
    add("--reconcile", type=float, default=10.0,
        help="the server's reconcile period in s (default 10)")
    add("--margin", type=float, default=10.0,
        help="s allowed beyond the reconcile period for one publish pass (default 10: a "
             "pass that unpublishes a 100-article file rewrites ~350 files, up to 9 s on "
             "2 busy cores)")
    add("--entries", type=int, default=50, help="entries per feed (default 50)")
    add("--clients", type=int, default=32, help="concurrent polling clients (default 32)")
    add("--crash-every", type=float, default=60.0,
        help="mean s between kill -9s of the server; 0: never (default 60)")
    add("--seed", type=int, default=None, help="random seed (default: from the clock)")
    add("--keep", action="store_true", help="keep the temp folder (seeds, feeds, log)")
    add("--tmp", default=None, help="parent folder of the temp folder (default: the system's)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    return Plan(args.minutes, args.articles, args.files, args.tags, args.reconcile,
                args.margin, args.entries, args.clients, args.crash_every, seed, args.keep,
                args.tmp)


# --- violations ------------------------------------------------------------------

class Violations:
    """Broken promises: each printed once, when first seen, with its evidence."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first: dict[tuple[str, str], str] = {}
        self.repeats: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def report(self, kind: str, key: str, evidence: str) -> None:
        """One violation of ``kind``; ``key`` names the thing, so repeats print once."""
        with self._lock:
            self.repeats[(kind, key)] += 1
            if (kind, key) in self.first:
                return
            self.first[(kind, key)] = evidence
        say(f"VIOLATION {kind}: {evidence}", self.started)

    def by_kind(self) -> Counter[str]:
        with self._lock:
            return Counter(kind for kind, _ in self.first)

    def __len__(self) -> int:
        return len(self.first)


def say(message: str, started: float) -> None:
    print(f"[{time.time() - started:7.1f}s] {message}", flush=True)


# --- the server's reader, from this run's copy of the code -------------------------

class Parsed(NamedTuple):
    """One article of one version of a seed file, as the server's reader sees it."""

    id: str
    title: str
    tags: frozenset[str]  # tag keys
    release: float | None  # epoch seconds; None: dated when the server first sees it
    line: int
    names: tuple[str, ...]  # the tags as written


class Reader:
    """The server's own reader and tag identity, imported from the code copy the
    server runs, so both sides agree on ids by construction; what is tested is
    everything after the reader: catalog, state, scheduler, watcher, writer, web."""

    def __init__(self, code: Path) -> None:
        sys.path.insert(0, str(code))
        seedfile = importlib.import_module("service.seedfile")
        self._parse = seedfile.parse_seed
        self._error = importlib.import_module("service.problems").SeedError
        self.tag_key: Callable[[str], str] = importlib.import_module(
            "service.identity").tag_key

    def articles(self, data: bytes, path: str) -> tuple[Parsed, ...] | None:
        """The articles of ``data``; None if the server must report the file an error."""
        try:
            seed = self._parse(data, path)
        except self._error:
            return None
        return tuple(Parsed(a.id, a.title, frozenset(map(self.tag_key, a.tags)),
                            a.published.timestamp() if a.published else None, a.line,
                            a.tags)
                     for a in seed.articles)


# --- the truth: what seeds/ holds, and since when ------------------------------------

@dataclass
class Known:
    """An article some version of some seed file held."""

    id: str
    title: str
    tags: frozenset[str]
    release: float | None
    first_held: float  # when a file first (was about to) hold it: bounds its first-seen date
    holders: set[str] = field(default_factory=set)  # files that should publish it now
    since: float | None = None  # held without a break since then; None: not held
    gone: float | None = None  # held by no file since then (None: held, or never held)
    whole: bool = False  # a complete file held it, not only a half-written one
    published: int | None = None  # as the server first showed it
    doubts: set[str] = field(default_factory=set)  # broken files that may still publish it

    def earliest(self) -> float:
        """The earliest `published` the server may give it: exact once seen or dated."""
        if self.published is not None:
            return self.published
        if self.release is not None:
            return self.release
        return self.first_held - FIRST_SEEN_SLACK

    def settled(self, when: float, plan: Plan) -> bool:
        """Held long enough before ``when`` (and released) that it must be published."""
        return (self.since is not None and self.since <= when - plan.settle and self.whole
                and (self.release is None or self.release <= when - plan.margin))


@dataclass(frozen=True)
class Version:
    """Bytes about to be written to a path, and what they publish (None: an error)."""

    path: str
    data: bytes
    articles: tuple[Parsed, ...] | None


@dataclass
class SeedState:
    data: bytes
    ids: tuple[str, ...]  # what the server should publish: the last version that parsed
    ok: bool  # the current bytes parse
    written: float  # when these bytes were written
    doubtful: tuple[str, ...] = ()  # last good ids the server may have lost (see doubt)


class Truth:
    """Every version of every file this script wrote, and each article's comings and
    goings. A change is registered before its bytes hit the disk and takes effect
    after, all under ``lock``: a check waits for it, so no answer is ever judged
    against a truth that is half a change behind the disk."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.articles: dict[str, Known] = {}
        self.files: dict[str, SeedState] = {}
        self.by_tag: dict[str, set[str]] = {}
        self.held: set[str] = set()
        self.lock = threading.RLock()

    def version(self, path: str, data: bytes, whole: bool = True) -> Version:
        """Parse ``data`` as the server will, and learn its articles; ``whole``: the
        bytes are a complete file, not the part written so far."""
        parsed = self.reader.articles(data, path)
        now = time.time()
        with self.lock:
            for article in parsed or ():
                known = self.articles.get(article.id)
                if known is None:
                    known = self.articles[article.id] = Known(
                        article.id, article.title, frozenset(), article.release, now)
                if whole or not known.tags:
                    self._retag(known, article.tags)
                known.whole |= whole
        return Version(path, data, parsed)

    def _retag(self, known: Known, tags: frozenset[str]) -> None:
        """A file cut short right after a headline gives the same id without its tags:
        the complete file says which tags the article carries."""
        for key in known.tags - tags:
            self.by_tag[key].discard(known.id)
        for key in tags - known.tags:
            self.by_tag.setdefault(key, set()).add(known.id)
        known.tags = tags

    def written(self, version: Version) -> None:
        """``version`` is on disk."""
        now = time.time()
        with self.lock:
            old = self.files.get(version.path)
            self._undoubt(version.path, old, now)
            before = old.ids if old else ()
            if version.articles is None:  # an error keeps the last good articles
                self.files[version.path] = SeedState(version.data, before, False, now)
                return
            ids = tuple(dict.fromkeys(a.id for a in version.articles))
            self.files[version.path] = SeedState(version.data, ids, True, now)
            self._move(version.path, before, ids, now)

    def deleted(self, path: str) -> None:
        now = time.time()
        with self.lock:
            old = self.files.pop(path, None)
            self._undoubt(path, old, now)
            if old is not None:
                self._move(path, old.ids, (), now)

    def doubt(self, path: str) -> None:
        """A broken file whose failure the server may not have seen before it died: a
        fresh server cannot know its last good articles, so from now on they are
        neither required nor forbidden, until the file changes again."""
        now = time.time()
        with self.lock:
            state = self.files.get(path)
            if state is None or state.ok or not state.ids:
                return
            for article_id in state.ids:
                self.articles[article_id].doubts.add(path)
            self._move(path, state.ids, (), now)
            state.ids, state.doubtful = (), state.ids

    def _undoubt(self, path: str, old: SeedState | None, now: float) -> None:
        """The file changed: the server must drop what it kept of it, as of now."""
        for article_id in old.doubtful if old else ():
            known = self.articles[article_id]
            known.doubts.discard(path)
            if not known.holders:
                known.gone = now

    def _move(self, path: str, before: tuple[str, ...], after: tuple[str, ...],
              now: float) -> None:
        for article_id in set(before) - set(after):
            known = self.articles[article_id]
            known.holders.discard(path)
            if not known.holders:
                known.since, known.gone = None, now
                self.held.discard(article_id)
        for article_id in set(after) - set(before):
            known = self.articles[article_id]
            if not known.holders:
                known.since, known.gone = now, None
                self.held.add(article_id)
            known.holders.add(path)

    def get(self, article_id: str) -> Known | None:
        with self.lock:
            return self.articles.get(article_id)

    def held_ids(self, tag: str | None = None) -> list[str]:
        """Ids held now: all of them, or those of one tag key."""
        with self.lock:
            if tag is None:
                return list(self.held)
            return [i for i in self.by_tag.get(tag, ()) if i in self.held]

    def paths(self, ok: bool | None = None, quiet: float = 0.0) -> list[str]:
        """Files (that parse, or not), unchanged for ``quiet`` seconds."""
        before = time.time() - quiet
        with self.lock:
            return sorted(p for p, s in self.files.items()
                          if (ok is None or s.ok == ok) and s.written <= before)

    def data(self, path: str) -> bytes:
        with self.lock:
            return self.files[path].data


# --- churn: how the seed files change ---------------------------------------------------

_VOCABULARY = """harbour ferry council market river bridge school festival museum station
library harvest storm rescue volunteers mayor report plan budget park garden tram bus night
morning summer winter record crowd season opening"""
WORDS = _VOCABULARY.split()
CHINESE = ("港口迎来新的渡轮，市民今天早上排队登船。图书馆周一重新开放，三个分馆延长开放时间。"
           "夜班公交恢复运营，东郊居民出行更加方便。秋收进入高峰，农民抢抓晴好天气收割。")


SLOW_WRITER = """
import random, sys, time
target, seed, cuts = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
data, rng, done, longest = sys.stdin.buffer.read(), random.Random(seed), 0, 0.0
with open(target, "wb") as stream:
    last = time.monotonic()
    for cut in map(int, cuts):
        stream.write(data[done:cut])
        stream.flush()
        longest, last, done = max(longest, time.monotonic() - last), time.monotonic(), cut
        time.sleep(rng.uniform(0.05, 0.25))
print(longest)
"""  # the slow writer's child process: writes stdin to target in chunks; prints its longest pause


@dataclass
class ChurnCounts:
    """Files churned, by kind of change."""

    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, n: int = 1) -> None:
        self.kinds[kind] += n


class Churn:
    """Changes seeds/ at random, as people and tools do, keeping the truth in step."""

    def __init__(self, seeds: Path, truth: Truth, rng: random.Random, hot: list[str],
                 plan: Plan, server_up: threading.Event, stop: threading.Event,
                 started: float) -> None:
        self.seeds, self.truth, self.rng, self.hot = seeds, truth, rng, hot
        self.plan, self.server_up, self.stop, self.started = plan, server_up, stop, started
        self.counts = ChurnCounts()
        self.serial = 0
        self.corpus = set(truth.paths())
        self.removed: list[tuple[str, bytes]] = []  # deleted files, to bring back later
        self.errors = 0
        # Inside a slow write; the server reads a file once it is quiet for 1 s, so
        # this must stay below that for a half publication to be the server's fault.
        self.longest_pause = 0.0
        self.operations: list[tuple[Callable[[], None], int]] = [
            (self.add, 20), (self.burst_add, 2), (self.body_edit, 12),
            (self.headline_edit, 8), (self.rename, 6), (self.move, 6), (self.delete, 18),
            (self.burst_delete, 1), (self.readd, 3), (self.duplicate, 4),
            (self.slow_write, 3), (self.gb18030, 3), (self.garbage, 3), (self.corrupt, 3),
            (self.repair, 2), (self.bad_bytes, 2)]

    def run(self) -> None:
        """Random changes, about 1.4 a second, until told to stop."""
        do, weights = zip(*self.operations, strict=True)
        while not self.stop.wait(min(self.rng.expovariate(1 / 0.7), 3.0)):
            operation = self.rng.choices(do, weights)[0]
            try:
                operation()
            except OSError as exc:  # a bug of this script: say so, carry on
                self.errors += 1
                say(f"churn {operation.__name__} failed: {exc}", self.started)

    # --- writing -----------------------------------------------------------------

    def _put(self, path: str, data: bytes, atomic: bool = True) -> None:
        """Write a whole file: to a dotted temp file renamed into place (what most
        editors do), or in place (truncate, then write: a moment of empty file)."""
        target = self.seeds / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.soak")
        if atomic:
            temp.write_bytes(data)  # a dotfile: the server ignores it
        with self.truth.lock:
            if atomic:
                version = self.truth.version(path, data)
                os.replace(temp, target)
            elif path in self.truth.files:
                empty = self.truth.version(path, b"")
                with open(target, "wb") as stream:
                    self.truth.written(empty)
                    version = self.truth.version(path, data)
                    stream.write(data)
            else:
                version = self.truth.version(path, data)
                target.write_bytes(data)
            self.truth.written(version)

    def _new_path(self, stem: str = "soak") -> str:
        self.serial += 1
        folder = self.rng.choice(["", "", "", "desk-1/", "desk-2/"])
        return f"{folder}{stem}-{self.serial:05d}.txt"

    def _article(self, dated: bool | None = None) -> str:
        """One new article in the dump format: most undated, some dated in the past,
        a few due in the next minutes (the server must hold them back until then)."""
        self.serial += 1
        words = " ".join(self.rng.choices(WORDS, k=self.rng.randint(3, 7)))
        headline = f"Soak story {self.serial} {words}{self.rng.choice('.!?')}"
        tags = ["Soak Desk", *self.rng.sample(self.hot, self.rng.randint(1, 3))]
        if self.rng.random() < 0.05:
            tags.append(f"Soak Beat {self.rng.randint(1, 40)}")
        header = f"{headline} {' | '.join(tags)}"
        dated = self.rng.random() < 0.25 if dated is None else dated
        if dated:
            ahead = self.rng.random() < 0.35
            offset = self.rng.uniform(15, 150) if ahead else -self.rng.uniform(3600, 6e7)
            when = datetime.fromtimestamp(int(time.time() + offset), UTC)
            top = f"{header}\nRelease time:{when:%Y-%m-%d %H:%M:%S}"
        else:
            top = f"{header}\n{header}"
        body = "\n\n".join(" ".join(self.rng.choices(WORDS, k=self.rng.randint(20, 80)))
                           .capitalize() + "." for _ in range(self.rng.randint(1, 3)))
        return f"{top}\n\n{body}\n"

    def _articles(self, n: int) -> bytes:
        return "\n".join(self._article() for _ in range(n)).encode()

    # --- the operations ------------------------------------------------------------

    def add(self) -> None:
        self._put(self._new_path(), self._articles(self.rng.randint(1, 4)),
                  atomic=self.rng.random() < 0.7)
        self.counts.add("added")

    def burst_add(self) -> None:
        for _ in range(20):
            self._put(self._new_path("burst"), self._articles(self.rng.randint(1, 3)),
                      atomic=False)
        self.counts.add("added in bursts", 20)

    def burst_delete(self) -> None:
        victims = [p for p in self.truth.paths() if p not in self.corpus]
        for path in self.rng.sample(victims, min(20, len(victims))):
            self._delete(path)
            self.counts.add("deleted in bursts")

    def delete(self) -> None:
        paths = self.truth.paths()
        soak = [p for p in paths if p not in self.corpus]
        pool = paths if not soak or self.rng.random() < 0.08 else soak
        self._delete(self.rng.choice(pool))
        self.counts.add("deleted")

    def _delete(self, path: str) -> None:
        with self.truth.lock:
            self.removed.append((path, self.truth.data(path)))
            (self.seeds / path).unlink()
            self.truth.deleted(path)

    def readd(self) -> None:
        """A deleted file comes back: same articles, so the same ids and dates."""
        if not self.removed:
            return
        path, data = self.removed.pop(self.rng.randrange(len(self.removed)))
        if path in self.truth.files:
            path = self._new_path("back")
        self._put(path, data)
        self.counts.add("restored")

    def body_edit(self) -> None:
        """A paragraph added after one article's header: same id, new `updated`."""
        edited = self._edit(lambda lines, i, header: lines.insert(
            self._body_start(lines, i, header), f"Soak edit {self.serial}: "
            f"{' '.join(self.rng.choices(WORDS, k=12))}.\n"))
        if edited:
            self.counts.add("body edits")

    def headline_edit(self) -> None:
        """One article's headline changes: a new id, the old one unpublished."""
        def retitle(lines: list[str], i: int, header: str) -> None:
            lines[i] = f"Update: {header}"
            if i + 1 < len(lines) and lines[i + 1] == header:
                lines[i + 1] = lines[i]
        if self._edit(retitle):
            self.counts.add("headline edits")

    @staticmethod
    def _body_start(lines: list[str], i: int, header: str) -> int:
        """The line after an article's header block (doubled header, release time)."""
        j = i + 1
        if j < len(lines) and lines[j] == header:
            j += 1
        if j < len(lines) and lines[j].lower().startswith("release time"):
            j += 1
        return j

    def _edit(self, change: Callable[[list[str], int, str], None]) -> bool:
        """Apply ``change`` to one article of a UTF-8 file that parses."""
        path = self._pick(ok=True)
        if path is None:
            return False
        data = self.truth.data(path)
        parsed = self.truth.reader.articles(data, path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if not parsed:
            return False
        lines = text.split("\n")
        i = self.rng.choice(parsed).line - 1
        change(lines, i, lines[i])
        self._put(path, "\n".join(lines).encode(), atomic=self.rng.random() < 0.7)
        return True

    def rename(self) -> None:
        path = self._pick()
        if path is not None:
            folder = path.rpartition("/")[0]
            self.serial += 1
            self._rename(path, f"{folder}/renamed-{self.serial:05d}.txt".lstrip("/"))
            self.counts.add("renamed")

    def move(self) -> None:
        path = self._pick()
        if path is not None:
            folder = f"desk-{self.rng.randint(1, 6)}/section-{self.rng.randint(1, 3)}"
            (self.seeds / folder).mkdir(parents=True, exist_ok=True)
            self._rename(path, f"{folder}/{path.rpartition('/')[2]}")
            self.counts.add("moved into subfolders")

    def _rename(self, src: str, dst: str) -> None:
        if dst in self.truth.files or src == dst:
            return
        with self.truth.lock:
            version = self.truth.version(dst, self.truth.data(src))
            os.rename(self.seeds / src, self.seeds / dst)
            self.truth.written(version)
            self.truth.deleted(src)
        if src in self.corpus:
            self.corpus.discard(src)
            self.corpus.add(dst)

    def duplicate(self) -> None:
        """The same article in a second file: published once, until both are gone."""
        path = self._pick(ok=True)
        if path is None:
            return
        parsed = self.truth.reader.articles(self.truth.data(path), path) or ()
        try:
            lines = self.truth.data(path).decode("utf-8").split("\n")
        except UnicodeDecodeError:
            return
        if not parsed:
            return
        starts = [a.line - 1 for a in parsed] + [len(lines)]
        k = self.rng.randrange(len(parsed))
        copy = "\n".join(lines[starts[k]:starts[k + 1]]).strip("\n") + "\n"
        self._put(self._new_path("copy"), copy.encode())
        self.counts.add("duplicated")

    def slow_write(self) -> None:
        """A large file written through one open file over about two seconds, cut at
        arbitrary bytes: the server must never publish it half written. A child process
        writes it, so that this busy process cannot stall a pause past the second of
        quiet the server waits for; every version it will write is known beforehand."""
        path = self._new_path("slow")
        data = self._articles(self.rng.randint(30, 60))
        cuts = [*sorted(self.rng.sample(range(1, len(data)), 14)), len(data)]
        target = self.seeds / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.truth.lock:
            for cut in cuts[:-1]:
                self.truth.version(path, data[:cut], whole=False)
            final = self.truth.version(path, data)
        writer = subprocess.run(
            [sys.executable, "-c", SLOW_WRITER, str(target), str(self.rng.random()),
             ",".join(map(str, cuts))], input=data, capture_output=True, check=True,
            timeout=60)
        with self.truth.lock:
            self.truth.written(final)
        self.longest_pause = max(self.longest_pause, float(writer.stdout))
        self.counts.add("written slowly")

    def gb18030(self) -> None:
        """A file in GB18030, as Chinese sites export it: must publish like UTF-8."""
        self.serial += 1
        n = self.serial
        header = f"海港新闻第{n}号：新渡轮启航。 Soak Desk | {self.rng.choice(self.hot)}"
        text = f"{header}\n{header}\n\n{CHINESE}\n\n{CHINESE[::-1]}\n"
        self._put(self._new_path("gb"), text.encode("gb18030"))
        self.counts.add("GB18030")

    def garbage(self) -> None:
        """A new binary file: random bytes, NULs, or text with a zeroed tail."""
        kind = self.rng.choice(["random bytes", "NUL-filled", "zeroed tail"])
        size = self.rng.randint(500, 20_000)
        data = {"random bytes": lambda: self.rng.randbytes(size),
                "NUL-filled": lambda: b"\0" * size,
                "zeroed tail": lambda: self._articles(2) + b"\0" * 4096}[kind]()
        self._put(self._new_path("bin"), data, atomic=self.rng.random() < 0.5)
        self.counts.add(f"binary ({kind})")

    def corrupt(self) -> None:
        """A published file turns binary: its last good articles stay published.
        Only a file the server has surely read (unchanged for longer than it takes)."""
        path = self._pick(ok=True, quiet=self.plan.settle)
        if path is not None:
            self._put(path, self.rng.randbytes(self.rng.randint(500, 5000)))
            if not self.server_up.is_set():  # a restarting server may read it broken first
                self.truth.doubt(path)
            self.counts.add("good file turned binary")

    def repair(self) -> None:
        bad = self.truth.paths(ok=False)
        if bad:
            self._put(self.rng.choice(bad), self._articles(self.rng.randint(1, 3)))
            self.counts.add("binary file repaired")

    def bad_bytes(self) -> None:
        """Text with a few invalid bytes: published, the bytes replaced."""
        data = self._articles(2).replace(b" the ", b" caf\xe9 ", 2) + b"\xff\xfe odd\n"
        self._put(self._new_path("latin"), data)
        self.counts.add("invalid bytes in text")

    def _pick(self, ok: bool | None = None, quiet: float = 0.0) -> str | None:
        paths = self.truth.paths(ok, quiet)
        return self.rng.choice(paths) if paths else None


# --- the server process -------------------------------------------------------------

@dataclass
class Lifetime:
    """One run of the server process, from start to kill, and its resource samples."""

    pid: int
    started: float
    answering: float | None = None  # first /healthz 200
    healthy: float | None = None  # answering, and this lifetime's first pass is done
    ended: float | None = None
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, rss, fds)

    def warm(self, until: float = float("inf")) -> list[tuple[float, int, int]]:
        """Samples after the warm-up (and before ``until``: the steady load ends)."""
        if self.healthy is None:
            return []
        return [s for s in self.samples if self.healthy + WARM_UP <= s[0] < until]


class Server:
    """`seedfeeds serve` of this run, started, killed and restarted on one port."""

    def __init__(self, workspace: Path, code: Path, plan: Plan, stop: threading.Event) -> None:
        self.workspace, self.code, self.plan, self.stop = workspace, code, plan, stop
        self.port = free_port()
        self.log = workspace / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()
        self.epoch = 0  # bumped by every kill: a request that spans one met a dead server
        self.lifetimes: list[Lifetime] = []
        self.lock = threading.Lock()  # one start or kill at a time

    def command(self) -> list[str]:
        w = self.workspace
        return [sys.executable, "-m", "service", "serve", "--seeds", str(w / "seeds"),
                "--feeds", str(w / "feeds"), "--state", str(w / "state.sqlite"),
                "--host", "127.0.0.1", "--port", str(self.port),
                "--base-url", f"http://127.0.0.1:{self.port}",
                "--reconcile", f"{self.plan.reconcile:g}", "--entries", str(self.plan.entries)]

    def start(self, timeout: float = 300) -> bool:
        """Start the server and wait until it answers /healthz; False if it never did."""
        with self.lock:
            env = {**os.environ, "PYTHONUTF8": "1", "PYTHONPATH": str(self.code)}
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(self.command(), stdout=log,
                                                stderr=subprocess.STDOUT, env=env,
                                                cwd=self.code, start_new_session=True)
            life = Lifetime(self.process.pid, time.time())
            self.lifetimes.append(life)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set():
            if self.process.poll() is not None:
                return False
            if life.answering is None and self.healthy():
                life.answering = time.time()
            # A restart answers at once, serving the site as published while its first
            # pass rebuilds it: every promise holds from the end of that pass.
            if life.answering is not None and self.first_pass_done(life):
                life.healthy = time.time()
                self.up.set()
                return True
            time.sleep(0.1)
        return False

    def first_pass_done(self, life: Lifetime) -> bool:
        """status.json tells of a cold pass that started in this lifetime."""
        try:
            last = json.loads((self.workspace / "feeds" / "status.json").read_bytes())
            last = last["last_pass"]
            started = datetime.fromisoformat(last["started"]).timestamp()
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return bool(last.get("cold")) and started >= int(life.started)

    def healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"GET /healthz HTTP/1.0\r\nHost: soak\r\n\r\n")
                return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]
        except OSError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server's whole process group (render workers too) and reap it."""
        with self.lock:
            self.up.clear()
            self.epoch += 1
            process = self.process
            if process is None:
                return
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if self.lifetimes and self.lifetimes[-1].ended is None:
                self.lifetimes[-1].ended = time.time()

    def sample(self) -> None:
        """Memory (the process and its children) and open files of the running server."""
        process, life = self.process, self.lifetimes[-1] if self.lifetimes else None
        if process is None or life is None or not self.up.is_set():
            return
        with contextlib.suppress(OSError):
            pids = [process.pid, *children(process.pid)]
            rss = sum(vm_rss(pid) for pid in pids)
            fds = len(os.listdir(f"/proc/{process.pid}/fd"))
            life.samples.append((time.time(), rss, fds))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the render workers a cold build forks)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as stream:
                for child in map(int, stream.read().split()):
                    found += [child, *children(child)]
    return found


def vm_rss(pid: int) -> int:
    """Resident memory of one process in bytes (0 if it just exited)."""
    try:
        with open(f"/proc/{pid}/status") as stream:
            for line in stream:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# --- answers: what each URL must be ----------------------------------------------------

class Item(NamedTuple):
    id: str
    published: int
    title: str


@dataclass(frozen=True)
class Snapshot:
    """What one valid answer said: a feed's entries, the OPML's tags, a page's date."""

    items: tuple[Item, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()  # OPML: (slug, display name)
    published: int | None = None  # an article page's published date


class Invalid(Exception):
    """A 200 whose body is not what its URL promises."""


JSON_FEED = "https://jsonfeed.org/version/1.1"
_PUBLISHED = re.compile(rb'Published <time datetime="([^"]+)"')
_TAG_URL = re.compile(r"/tags/([^/]+)\.atom$")


def read_answer(url: str, body: bytes) -> Snapshot:
    """Check a 200's body against its URL's format; what it says, or Invalid."""
    path = urllib.parse.urlsplit(url).path
    if path.endswith((".atom", ".rss")):
        return read_xml_feed(body)
    if path.endswith(".json"):
        return read_json_feed(body)
    if path.endswith(".opml"):
        return read_opml(body)
    return read_page(body)


def read_xml_feed(body: bytes) -> Snapshot:
    parsed = feedparser.parse(body)
    if parsed.bozo:
        raise Invalid(f"feedparser: {parsed.get('bozo_exception')}")
    items = []
    for entry in parsed.entries:
        when = entry.get("published_parsed")
        if when is None or not entry.get("id", "").startswith("urn:uuid:"):
            raise Invalid(f"entry without urn:uuid id or published date: {entry.get('id')}")
        items.append(Item(entry.id.removeprefix("urn:uuid:"), calendar.timegm(when),
                          entry.get("title", "")))
    return Snapshot(items=tuple(items))


def read_json_feed(body: bytes) -> Snapshot:
    try:
        document = json.loads(body)
        if document.get("version") != JSON_FEED:
            raise Invalid(f"JSON Feed version {document.get('version')!r}")
        items = tuple(Item(item["id"].removeprefix("urn:uuid:"),
                           int(datetime.fromisoformat(item["date_published"]).timestamp()),
                           item.get("title", "")) for item in document["items"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Invalid(f"JSON Feed does not parse: {exc!r}") from None
    return Snapshot(items=items)


def read_opml(body: bytes) -> Snapshot:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise Invalid(f"OPML does not parse: {exc}") from None
    if root.tag != "opml" or root.get("version") != "2.0" or root.find("body") is None:
        raise Invalid("not an OPML 2.0 document")
    tags = []
    for outline in root.iter("outline"):
        found = _TAG_URL.search(outline.get("xmlUrl", ""))
        if found:
            tags.append((urllib.parse.unquote(found.group(1)), outline.get("title", "")))
    return Snapshot(tags=tuple(tags))


def read_page(body: bytes) -> Snapshot:
    if not body[:15].lower().startswith(b"<!doctype html") or b"</html>" not in body[-64:]:
        raise Invalid(f"not a whole HTML page: {body[:40]!r}...{body[-40:]!r}")
    found = _PUBLISHED.search(body)
    published = (int(datetime.fromisoformat(found.group(1).decode()).timestamp())
                 if found else None)
    return Snapshot(published=published)


# --- the promises --------------------------------------------------------------------

@dataclass
class Seen:
    """The latest answer for one feed URL, for the window audit."""

    snapshot: Snapshot
    asked: float  # when the request was sent: the answer was current after this
    tag: str | None  # tag key; None for the all feed
    audited: bool = False


class Promises:
    """Checks answers against the truth; remembers the latest of each feed."""

    def __init__(self, truth: Truth, plan: Plan, violations: Violations) -> None:
        self.truth, self.plan, self.violations = truth, plan, violations
        self.slug_tags: dict[str, str] = {}  # slug -> tag key, from the OPML
        self.latest: dict[str, Seen] = {}
        self.pages_checked: set[str] = set()  # article ids whose page was asked for
        self._lock = threading.Lock()

    def tag_of(self, slug: str) -> str | None:
        return self.slug_tags.get(slug)

    def opml(self, snapshot: Snapshot) -> None:
        key = self.truth.reader.tag_key
        with self._lock:
            for slug, name in snapshot.tags:
                self.slug_tags.setdefault(slug, key(name))

    def feed(self, url: str, slug: str | None, snapshot: Snapshot, asked: float,
             answered: float) -> None:
        """Promises 3 and 4 on one feed answer (200 or 304), at once."""
        tag = None if slug is None else self.tag_of(slug)
        previous = None
        for item in snapshot.items:
            self._entry(url, item, tag if slug else None, slug, asked, answered)
            key = (-item.published, item.id)
            if previous is not None and key < previous:
                self.violations.report("feed order", url, f"{url}: {item.id} is out of order "
                                       "(newest published first, ties by id)")
            previous = key
        if slug is None or tag is not None:
            with self._lock:
                self.latest[url] = Seen(snapshot, asked, tag)

    def _entry(self, url: str, item: Item, tag: str | None, slug: str | None,
               asked: float, answered: float) -> None:
        known = self.truth.get(item.id)
        report = self.violations.report
        if known is None:
            report("unknown id", item.id, f"{url} shows {item.id} ({item.title!r}), an id "
                   "no seed file ever held: an id changed, or a phantom article")
            return
        if not known.whole:
            report("half-written file published", item.id, f"{url} shows {item.id} "
                   f"({known.title!r}), held only by a file while it was being written")
        if known.published is None:
            known.published = item.published
        elif known.published != item.published:
            report("published changed", item.id, f"{url}: {item.id} ({known.title!r}) "
                   f"published {iso(item.published)}, earlier {iso(known.published)}")
        if known.release is not None and item.published != int(known.release):
            report("published is not the release time", item.id,
                   f"{url}: {item.id} published {iso(item.published)}, released "
                   f"{iso(known.release)}")
        if item.published > answered + 1:
            report("shown before its release time", item.id,
                   f"{url} shows {item.id} ({known.title!r}) due {iso(item.published)}")
        gone = known.gone
        if known.since is None and gone is not None and gone <= asked - self.plan.settle \
                and not known.doubts:
            report("deleted article still shown", f"{url} {item.id}",
                   f"{url} shows {item.id} ({known.title!r}), in no seed file for "
                   f"{asked - gone:.1f} s")
        if slug is not None and tag is not None and tag not in known.tags:
            report("article in a tag feed it does not carry", f"{url} {item.id}",
                   f"{url} shows {item.id} ({known.title!r}), tags {sorted(known.tags)}")

    def article(self, article_id: str, status: int, snapshot: Snapshot | None,
                asked: float, answered: float) -> None:
        """Promise 2 on an article page: served while held, gone once deleted, never
        before its release time."""
        known = self.truth.get(article_id)
        if known is None:
            return
        self.pages_checked.add(article_id)
        if status == 200 and known.release is not None and known.release > answered + 1:
            self.violations.report("shown before its release time", article_id,
                                   f"/articles/{article_id} ({known.title!r}) is served, "
                                   f"due {iso(known.release)}")
        if status == 404 and known.settled(asked, self.plan):
            self.violations.report(
                "article page missing", article_id,
                f"/articles/{article_id} ({known.title!r}) is 404, in seeds/ for "
                f"{asked - (known.since or 0):.1f} s")
        if status == 200 and known.since is None and known.gone is not None \
                and known.gone <= asked - self.plan.settle and not known.doubts:
            self.violations.report(
                "deleted article page still served", article_id,
                f"/articles/{article_id} ({known.title!r}) is 200, in no seed file for "
                f"{asked - known.gone:.1f} s")
        if status == 200 and snapshot is not None and snapshot.published is not None:
            if known.published is None:
                known.published = snapshot.published
            elif known.published != snapshot.published:
                self.violations.report(
                    "published changed", article_id, f"/articles/{article_id} published "
                    f"{iso(snapshot.published)}, earlier {iso(known.published)}")

    def audit(self) -> int:
        """Promise 2 on the latest answer of every feed: every settled article whose
        place is inside the feed's newest-N window is in it. Returns feeds audited."""
        with self._lock:
            pending = [(url, seen) for url, seen in self.latest.items() if not seen.audited]
            for _, seen in pending:
                seen.audited = True
        for url, seen in pending:
            self._audit(url, seen)
        return len(pending)

    def _audit(self, url: str, seen: Seen) -> None:
        items = seen.snapshot.items
        shown = {item.id for item in items}
        full = len(items) >= self.plan.entries
        bound = (-items[-1].published, items[-1].id) if full else None
        for article_id in self.truth.held_ids(seen.tag):
            known = self.truth.get(article_id)
            if known is None or article_id in shown or not known.settled(seen.asked, self.plan):
                continue
            if bound is None or (-known.earliest(), article_id) < bound:
                self.violations.report(
                    "missing from a feed", f"{url} {article_id}",
                    f"{url} lacks {article_id} ({known.title!r}, published "
                    f"{iso(known.earliest())}), in seeds/ for "
                    f"{seen.asked - (known.since or 0):.1f} s; the window ends at "
                    f"{iso(-bound[0]) if bound else 'none (not full)'}")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


# --- load: readers polling with conditional GETs -------------------------------------

@dataclass
class Stats:
    """Requests as clients saw them."""

    statuses: Counter[int] = field(default_factory=Counter)
    refused: int = 0  # while the server was down (killed, restarting)
    errors: int = 0  # failed while the server was up
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


class Down(Exception):
    """The server was down (or went down) during the request."""


class Answer(NamedTuple):
    status: int
    etag: str | None
    body: bytes


class Client:
    """One keep-alive HTTP/1.1 connection, as one feed reader holds it."""

    def __init__(self, server: Server, gzip_ok: bool) -> None:
        self.server, self.gzip_ok = server, gzip_ok
        self.connection: http.client.HTTPConnection | None = None

    def get(self, url: str, etag: str | None) -> Answer:
        """GET ``url`` (conditional if ``etag``); one retry on a fresh connection, as
        clients do when a server closed an idle keep-alive connection."""
        epoch = self.server.epoch
        for attempt in (1, 2):
            if not self.server.up.is_set() or self.server.epoch != epoch:
                self.close()
                raise Down
            try:
                return self._get(url, etag)
            except Invalid:
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                if not self.server.up.is_set() or self.server.epoch != epoch:
                    raise Down from None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _get(self, url: str, etag: str | None) -> Answer:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                                         timeout=30)
        headers = {"User-Agent": "seedfeeds-soak"}
        if etag:
            headers["If-None-Match"] = etag
        if self.gzip_ok:
            headers["Accept-Encoding"] = "gzip"
        self.connection.request("GET", url, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.getheader("Content-Encoding") == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as exc:
                raise Invalid(f"gzip body does not decompress: {exc}") from None
        return Answer(response.status, response.getheader("ETag"), body)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class Readers:
    """Clients polling feeds, pages and article pages, and the answers they check."""

    def __init__(self, server: Server, truth: Truth, promises: Promises, plan: Plan,
                 violations: Violations, hot: list[str], stop: threading.Event) -> None:
        self.server, self.truth, self.promises, self.plan = server, truth, promises, plan
        self.violations, self.hot, self.stop = violations, hot, stop
        self.stats = Stats()
        self.cache: dict[tuple[str, bool], tuple[str, Snapshot]] = {}  # (url, gzip) -> ...
        self.checked: OrderedDict[str, Snapshot | str] = OrderedDict()  # body sha256 ->
        self._held: tuple[float, list[str]] = (0.0, [])
        self._lock = threading.Lock()

    # --- what to ask -----------------------------------------------------------------

    def pick(self, rng: random.Random) -> str:
        """A URL, weighted as readers poll: mostly feeds, some pages and articles."""
        roll = rng.random()
        fmt = rng.choice(("atom", "rss", "json"))
        slugs = self.promises.slug_tags
        hot = [s for s, key in list(slugs.items()) if key in self.hot]
        if roll < 0.25:
            return f"/all.{fmt}"
        if roll < 0.55 and hot:
            return f"/tags/{rng.choice(hot)}.{fmt}"
        if roll < 0.65 and slugs:
            return f"/tags/{rng.choice(list(slugs))}.{fmt}"
        if roll < 0.70:
            return "/subscriptions.opml"
        if roll < 0.75:
            return "/"
        if roll < 0.80 and slugs:
            return f"/tags/{rng.choice(list(slugs))}/"
        held = self.held_sample()
        return f"/articles/{rng.choice(held)}" if held else "/"

    def held_sample(self) -> list[str]:
        """Held ids, refreshed once a second (copying 10,000 per request would cost)."""
        now = time.monotonic()
        if now - self._held[0] > 1.0:
            self._held = (now, self.truth.held_ids())
        return self._held[1]

    # --- asking ------------------------------------------------------------------------

    def poll(self, index: int) -> None:
        """One client's loop until the run stops."""
        rng = random.Random(self.plan.seed * 1000 + index)
        client = Client(self.server, gzip_ok=index % 2 == 0)
        try:
            while not self.stop.is_set():
                self.fetch(client, self.pick(rng))
        finally:
            client.close()

    def fetch(self, client: Client, url: str) -> int | None:
        """One conditional GET, timed, checked against every promise it touches."""
        cached = self.cache.get((url, client.gzip_ok))
        asked, clock = time.time(), time.perf_counter()
        try:
            answer = client.get(url, cached[0] if cached else None)
        except Down:
            with self.stats.lock:
                self.stats.refused += 1
            self.stop.wait(0.2)
            return None
        except Invalid as exc:
            self.violations.report("invalid document", f"{url} gzip", f"{url}: {exc}")
            return None
        except (OSError, http.client.HTTPException) as exc:
            with self.stats.lock:
                self.stats.errors += 1
            self.violations.report("request failed while up", f"{url} {type(exc).__name__}",
                                   f"{url}: {exc!r}")
            return None
        answered = time.time()
        self.stats.answered(answer.status, time.perf_counter() - clock)
        snapshot = self._snapshot(url, answer, cached, client.gzip_ok)
        self._check(url, answer.status, snapshot, asked, answered)
        return answer.status

    def _snapshot(self, url: str, answer: Answer, cached: tuple[str, Snapshot] | None,
                  gzip_ok: bool) -> Snapshot | None:
        if answer.status == 304:
            if cached is None:
                self.violations.report("304 without a validator", url, f"{url}: 304 to an "
                                       "unconditional GET")
                return None
            return cached[1]
        if answer.status != 200:
            return None
        snapshot = self.validate(url, answer.body)
        if snapshot is not None and answer.etag:
            self.cache[(url, gzip_ok)] = (answer.etag, snapshot)
        return snapshot

    def validate(self, url: str, body: bytes) -> Snapshot | None:
        """Promise 1: a 200 is a valid document. Each distinct body is parsed once."""
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            known = self.checked.get(digest)
        if known is None:
            try:
                known = read_answer(url, body)
            except Invalid as exc:
                known = str(exc)
            with self._lock:
                self.checked[digest] = known
                if len(self.checked) > 4000:
                    self.checked.popitem(last=False)
        if isinstance(known, str):
            self.violations.report("invalid document", f"{url} {digest}", f"{url}: {known}")
            return None
        return known

    def _check(self, url: str, status: int, snapshot: Snapshot | None, asked: float,
               answered: float) -> None:
        if status >= 500:
            self.violations.report("5xx", f"{url} {status}", f"{url} answered {status}")
        kind, name = route(url)
        if kind == "article":
            self.promises.article(name, status, snapshot, asked, answered)
            return
        if status == 404:
            if kind != "tag feed" or self.promises.tag_of(name) is not None:
                self.violations.report("published file missing", url, f"{url} is 404")
            return
        if status not in (200, 304):
            self.violations.report("unexpected status", f"{url} {status}", f"{url}: {status}")
        if snapshot is None:
            return
        if kind == "opml":
            self.promises.opml(snapshot)
        elif kind in ("all feed", "tag feed"):
            self.promises.feed(url, name or None, snapshot, asked, answered)


def route(url: str) -> tuple[str, str]:
    """What kind of URL it is, and its name (tag slug, article id)."""
    if url.startswith("/all."):
        return "all feed", ""
    if url.startswith("/articles/"):
        return "article", url.removeprefix("/articles/")
    if url.startswith("/tags/") and not url.endswith("/"):
        return "tag feed", url.removeprefix("/tags/").rpartition(".")[0]
    if url == "/subscriptions.opml":
        return "opml", ""
    return "page", ""


# --- the sweep: every held article's page, over and over ------------------------------

class Sweep:
    """Asks for every settled article's page in turn (and recently deleted ones'), so
    each of 10,000 articles is checked every minute or two, not just a sample."""

    def __init__(self, readers: Readers, truth: Truth, plan: Plan,
                 stop: threading.Event) -> None:
        self.readers, self.truth, self.plan, self.stop = readers, truth, plan, stop
        self.rounds = 0

    def run(self, index: int, of: int) -> None:
        client = Client(self.readers.server, gzip_ok=False)
        try:
            while not self.stop.is_set():
                batch = self.batch(index, of)
                if not batch:  # nothing has settled yet
                    self.stop.wait(1.0)
                    continue
                for article_id in batch:
                    if self.stop.is_set():
                        break
                    self.readers.fetch(client, f"/articles/{article_id}")
                else:
                    self.rounds += index == 0
        finally:
            client.close()

    def batch(self, index: int, of: int) -> list[str]:
        """This sweeper's share of the settled and the recently deleted articles."""
        now = time.time()
        with self.truth.lock:
            ids = [k.id for k in self.truth.articles.values()
                   if k.settled(now, self.plan)
                   or (k.gone is not None and now - 300 < k.gone <= now - self.plan.settle)]
        ids.sort()
        return ids[index::of]


# --- the run ---------------------------------------------------------------------------

class Passes:
    """Publish passes as the server logged them: how many, and how long they took."""

    LINE = re.compile(r"publish pass: (\d+) files, .*; read (\d+) files, .* in ([\d.]+) s")

    def __init__(self) -> None:
        self.count = 0
        self.longest = 0.0  # of the passes that follow changes
        self.longest_cold = 0.0  # of the builds that start a process

    def add(self, line: str) -> None:
        found = self.LINE.search(line)
        if found is None:
            return
        files, read, seconds = int(found[1]), int(found[2]), float(found[3])
        self.count += 1
        if files >= 20 and read >= 0.9 * files:
            self.longest_cold = max(self.longest_cold, seconds)
        else:
            self.longest = max(self.longest, seconds)


@dataclass
class Outcome:
    """Everything the summary reports."""

    plan: Plan
    seconds: float
    stats: Stats
    churn: Counter[str]
    slow_pause: float  # the longest pause inside a slow write
    crashes: int
    restarts: int
    lifetimes: list[Lifetime]
    violations: Violations
    articles: int
    sweeps: int
    pages_checked: int
    steady_until: float  # churn and crashes stopped: the final audit began
    passes: Passes
    comebacks: list[float]  # seconds from each kill to /healthz again
    catchups: list[float]  # seconds from each kill to the end of the first pass


class Soak:
    """Sets the run up, runs its threads for the planned time, and tears it all down."""

    def __init__(self, plan: Plan, workspace: Path) -> None:
        self.plan, self.workspace = plan, workspace
        self.started = time.time()
        self.stop = threading.Event()  # everything stops
        self.calm = threading.Event()  # churn and crashes stop: the final audit
        self.quiet = threading.Event()  # the readers stop too: the final sweep
        self.violations = Violations(self.started)
        self.rng = random.Random(plan.seed)
        self.crashes = self.restarts = 0
        self.threads: list[threading.Thread] = []
        self.log_offset = 0
        self.passes = Passes()
        self.comebacks: list[float] = []
        self.catchups: list[float] = []
        self.steady_until = float("inf")

    def run(self) -> Outcome:
        plan, seeds = self.plan, self.workspace / "seeds"
        self.note(f"seed {plan.seed}; generating {plan.articles:,} articles in "
                  f"{plan.files} files into {self.workspace}")
        subprocess.run([sys.executable, str(GENERATOR), str(seeds), "--articles",
                        str(plan.articles), "--files", str(plan.files), "--tags",
                        str(plan.tags), "--seed", str(plan.seed)], check=True)
        code = snapshot_code(self.workspace)
        self.truth = Truth(Reader(code))
        self.learn_corpus(seeds)
        self.server = Server(self.workspace, code, plan, self.stop)
        self.note(f"starting the server on 127.0.0.1:{self.server.port}")
        if not self.server.start():
            tail = self.server.log.read_text("utf-8", "replace").splitlines()[-30:]
            raise SystemExit("the server did not start:\n" + "\n".join(tail))
        self.note(f"server up after {time.time() - self.server.lifetimes[0].started:.1f} s; "
                  f"soaking for {plan.minutes:g} min")
        hot = self.hot_tags()
        self.promises = Promises(self.truth, plan, self.violations)
        self.readers = Readers(self.server, self.truth, self.promises, plan, self.violations,
                               hot, self.quiet)
        self.churn = Churn(seeds, self.truth, self.rng, [self.display[k] for k in hot],
                           plan, self.server.up, self.calm, self.started)
        self.sweep = Sweep(self.readers, self.truth, plan, self.quiet)
        self.readers.fetch(Client(self.server, False), "/subscriptions.opml")
        begun = time.time()
        self.spawn()
        self.stop.wait(plan.minutes * 60)
        self.finish()
        seconds = time.time() - begun
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=40)
        self.scan_log()
        self.save_samples()
        return Outcome(plan, seconds, self.readers.stats, self.churn.counts.kinds,
                       self.churn.longest_pause, self.crashes, self.restarts,
                       self.server.lifetimes, self.violations, len(self.truth.held),
                       self.sweep.rounds, len(self.promises.pages_checked),
                       self.steady_until, self.passes, self.comebacks, self.catchups)

    def note(self, message: str) -> None:
        say(message, self.started)

    def learn_corpus(self, seeds: Path) -> None:
        """The generated corpus into the truth, and each tag's display name."""
        names: dict[str, Counter[str]] = {}
        for path in sorted(p.relative_to(seeds).as_posix() for p in seeds.rglob("*.txt")):
            version = self.truth.version(path, (seeds / path).read_bytes())
            self.truth.written(version)
            for article in version.articles or ():
                for name in article.names:
                    names.setdefault(self.truth.reader.tag_key(name), Counter())[name] += 1
        self.display = {key: spellings.most_common(1)[0][0] for key, spellings in names.items()}

    def hot_tags(self) -> list[str]:
        """The tag keys churn writes to: the soak's own, popular, middling and rare ones."""
        ranked = sorted(self.truth.by_tag, key=lambda k: -len(self.truth.by_tag[k]))
        ranked = [k for k in ranked if k in self.display]
        picks = ranked[:3] + ranked[20:23] + ranked[-3:]
        key = self.truth.reader.tag_key("Soak Desk")
        self.display[key] = "Soak Desk"
        return [key, *picks]

    def spawn(self) -> None:
        """Every activity of the run, each on its own thread."""
        plan = self.plan
        jobs: list[tuple[str, Callable[[], None]]] = [
            ("churn", self.churn.run), ("checker", self.check_loop),
            ("sampler", self.sample_loop)]
        if plan.crash_every > 0:
            jobs.append(("crasher", self.crash_loop))
        jobs += [(f"reader-{i}", lambda i=i: self.readers.poll(i)) for i in range(plan.clients)]
        jobs += [(f"sweep-{i}", lambda i=i: self.sweep.run(i, 2)) for i in range(2)]
        for name, job in jobs:
            thread = threading.Thread(target=self.guarded(name, job), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def guarded(self, name: str, job: Callable[[], None]) -> Callable[[], None]:
        """A thread that dies of a bug in this script stops the run, loudly."""
        def run() -> None:
            try:
                job()
            except Exception as exc:
                self.violations.report("soak script failure", name, f"{name}: {exc!r}")
                traceback.print_exc()
                self.stop.set()
        return run

    def check_loop(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY):
            self.promises.audit()
            self.scan_log()

    def sample_loop(self) -> None:
        """Memory and open files; a server that died on its own is a violation."""
        while not self.stop.wait(SAMPLE_EVERY):
            process = self.server.process
            if self.server.up.is_set() and process is not None and process.poll() is not None:
                self.violations.report("server exited by itself", str(process.pid),
                                       f"pid {process.pid} exited with {process.returncode}")
                self.doubt_unseen_failures()
                self.restart()
            self.server.sample()

    def crash_loop(self) -> None:
        """kill -9 at random moments, about once per ``crash_every``, and restart."""
        while not self.calm.wait(self.rng.uniform(0.3, 1.7) * self.plan.crash_every):
            self.server.sample()
            self.doubt_unseen_failures()
            self.server.kill(signal.SIGKILL)
            self.crashes += 1
            self.note(f"kill -9 #{self.crashes} (pid {self.server.lifetimes[-1].pid})")
            self.restart()

    def doubt_unseen_failures(self) -> None:
        """Before a kill: a file broken so recently that no pass has recorded its failure
        (feeds/status.json lists each failing file after a pass that started later)
        dies with the process's memory of its last good articles."""
        try:
            status = json.loads((self.workspace / "feeds" / "status.json").read_bytes())
            seen = datetime.fromisoformat(status["last_pass"]["started"]).timestamp()
            failing = {error["path"] for error in status["errors"]}
        except (OSError, ValueError, KeyError, TypeError):
            seen, failing = 0.0, set()
        for path in self.truth.paths(ok=False):
            if path not in failing or self.truth.files[path].written > seen:
                self.truth.doubt(path)

    def restart(self) -> None:
        self.server.kill(signal.SIGKILL)
        began = time.time()
        if self.server.start():
            self.restarts += 1
            life = self.server.lifetimes[-1]
            self.comebacks.append((life.answering or time.time()) - began)
            self.catchups.append(time.time() - began)
            self.note(f"restarted: answering in {self.comebacks[-1]:.1f} s, first pass "
                      f"done in {self.catchups[-1]:.1f} s")
        elif not self.stop.is_set():
            self.violations.report("server did not come back", str(self.restarts),
                                   f"no /healthz within 300 s; see {self.server.log}")
            self.stop.set()

    def finish(self) -> None:
        """The final audit: churn and crashes stop, the server gets the settle time to
        catch up under load, then the readers stop and every tag feed and every article
        page is asked for once."""
        self.calm.set()
        self.steady_until = time.time()
        if self.stop.is_set():
            return
        self.note("churn and crashes stop; settling for the final audit")
        if not self.server.up.wait(300):
            return
        self.stop.wait(self.plan.settle + 2)
        self.quiet.set()
        for thread in self.threads:
            if thread.name.startswith(("reader-", "sweep-")):
                thread.join(timeout=40)
        urls = ["/subscriptions.opml", "/all.atom", "/all.rss", "/all.json"]
        self.fetch_all(urls[:1])
        urls += [f"/tags/{slug}.{fmt}" for slug in self.promises.slug_tags
                 for fmt in ("atom", "rss", "json")]
        ids = sorted(self.truth.held_ids())
        self.note(f"final audit: {len(urls):,} feeds, {len(ids):,} article pages")
        self.fetch_all(urls)
        self.promises.audit()
        self.fetch_all([f"/articles/{article_id}" for article_id in ids])

    def fetch_all(self, urls: list[str], clients: int = 8) -> None:
        """Ask for every URL once, on ``clients`` connections at a time."""
        def share(index: int) -> None:
            client = Client(self.server, gzip_ok=index % 2 == 1)
            try:
                for url in urls[index::clients]:
                    if self.stop.is_set():
                        return
                    self.readers.fetch(client, url)
            finally:
                client.close()
        workers = [threading.Thread(target=self.guarded(f"audit-{i}", lambda i=i: share(i)))
                   for i in range(clients)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def save_samples(self) -> None:
        """Every memory and fd sample, for a closer look (kept with --keep)."""
        with open(self.workspace / "resources.csv", "w") as out:
            out.write("lifetime,pid,seconds_up,rss_mib,fds\n")
            for n, life in enumerate(self.server.lifetimes, start=1):
                for when, rss, fds in life.samples:
                    up = when - (life.healthy or life.started)
                    out.write(f"{n},{life.pid},{up:.1f},{rss / MIB:.1f},{fds}\n")

    def scan_log(self) -> None:
        """Promise 5: the server logs no error (bad seed files are warnings)."""
        try:
            with open(self.server.log, "rb") as stream:
                stream.seek(self.log_offset)
                chunk = stream.read()
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        self.log_offset += complete
        for line in chunk[:complete].decode("utf-8", "replace").splitlines():
            self.passes.add(line)
            if " ERROR " in line or line.startswith("Traceback"):
                self.violations.report("server logged an error", line[24:120], line[:300])


def snapshot_code(workspace: Path) -> Path:
    """A copy of service/ for this run: the server restarted at minute nine runs the
    code started at minute zero, even if someone edits the tree meanwhile."""
    code = workspace / "code"
    shutil.copytree(ROOT / "service", code / "service",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return code


# --- the summary ------------------------------------------------------------------------

def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(outcome: Outcome) -> str:
    """The run as a markdown table, to paste into the README."""
    stats, plan = outcome.stats, outcome.plan
    requests = stats.requests
    not_modified = stats.statuses.get(304, 0)
    churned = ", ".join(f"{n:,} {kind}" for kind, n in outcome.churn.most_common())
    warm = [s for life in outcome.lifetimes for s in life.warm()]
    peak_rss = max((s[1] for s in warm), default=0)
    steady = [s for life in outcome.lifetimes for s in life.warm(outcome.steady_until)]
    peak_steady = max((s[1] for s in steady), default=0)
    violations = outcome.violations.by_kind()
    rows = [
        ("duration", f"{outcome.seconds / 60:.1f} min ({plan.minutes:g} min soak + final "
                     "audit), 2 cores shared"),
        ("corpus", f"{plan.articles:,} articles in {plan.files} files, {plan.tags} tags; "
                   f"{outcome.articles:,} articles at the end"),
        ("server settings", f"reconcile {plan.reconcile:g} s, {plan.entries} entries per "
                            f"feed; promises checked {plan.settle:g} s after a change"),
        ("requests answered", f"{requests:,} ({requests / outcome.seconds:,.0f}/s) by "
                              f"{plan.clients} clients + 2 article sweepers"),
        ("304 Not Modified", f"{not_modified / max(requests, 1):.0%}"),
        ("latency p50 / p99", f"{percentile(stats.latencies, 0.5) * 1000:.1f} ms / "
                              f"{percentile(stats.latencies, 0.99) * 1000:.1f} ms"),
        ("statuses", ", ".join(f"{n:,} × {code}" for code, n in sorted(stats.statuses.items()))),
        ("refused while down / failed while up", f"{stats.refused:,} / {stats.errors:,}"),
        ("files churned", f"{sum(outcome.churn.values()):,}: {churned}"),
        ("longest pause inside a slow write", f"{outcome.slow_pause:.2f} s (the server may "
                                              "read a file after 1 s of quiet)"),
        ("kill -9 survived / restarts", f"{outcome.crashes} / {outcome.restarts}" + (
            f"; answering again {min(outcome.comebacks):.1f}–{max(outcome.comebacks):.1f} s "
            f"after the kill, first pass done after {min(outcome.catchups):.1f}–"
            f"{max(outcome.catchups):.1f} s" if outcome.comebacks else "")),
        ("publish passes", f"{outcome.passes.count:,}; longest {outcome.passes.longest:.1f} s "
                           f"(builds at start: up to {outcome.passes.longest_cold:.1f} s)"),
        ("server memory (RSS)", f"peak {peak_steady / MIB:.0f} MiB under churn and load, "
                                f"{peak_rss / MIB:.0f} MiB in the final audit; per lifetime "
                                "below"),
        ("article pages checked", f"{outcome.pages_checked:,} distinct articles "
                                  f"({outcome.sweeps} full sweeps during the soak; every held "
                                  "article once in the final audit)"),
        ("violations", "0" if not violations else ", ".join(
            f"{n} {kind}" for kind, n in violations.most_common())),
    ]
    lines = ["| soak | result |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    lines += ["", "| server lifetime | up | RSS after warm-up → half-way → end (peak) "
                  "| open fds start → end (peak) |",
              "|---|---|---|---|"]
    for n, life in enumerate(outcome.lifetimes, start=1):
        if life.healthy is not None and life.healthy < outcome.steady_until:
            lines.append(lifetime_row(n, life, outcome.steady_until))
    return "\n".join(lines)


def lifetime_row(n: int, life: Lifetime, until: float) -> str:
    """One server process under churn and load (the final audit left out)."""
    warm = life.warm(until)
    up = (min(life.ended or time.time(), until) - life.healthy) if life.healthy else 0.0
    if not warm:
        return f"| {n} | {max(up, 0):.0f} s | (too short: no sample after the warm-up) | |"
    rss, fds = [s[1] / MIB for s in warm], [s[2] for s in warm]
    return (f"| {n} | {up:.0f} s | {rss[0]:.0f} → {rss[len(rss) // 2]:.0f} → {rss[-1]:.0f} "
            f"({max(rss):.0f}) MiB | {fds[0]} → {fds[-1]} ({max(fds)}) |")


def flatness(outcome: Outcome) -> None:
    """Promise 5, per lifetime under churn and load, after its warm-up: open files do
    not climb, and memory levels off. Caches fill in the first half (the web's answer
    cache alone may take 64 MiB), so the second half may add at most 5% + 8 MiB; a
    leak of a kilobyte a request would add ten times that in half a minute."""
    for n, life in enumerate(outcome.lifetimes, start=1):
        steady = life.warm(outcome.steady_until)
        if len(steady) < 10:
            continue
        (_, rss0, fds0), (_, rss1, fds1) = steady[0], steady[-1]
        rss_mid = steady[len(steady) // 2][1]
        if rss1 > rss_mid * 1.05 + 8 * MIB:
            outcome.violations.report("memory grew", str(n), f"lifetime {n}: RSS "
                                      f"{rss0 / MIB:.0f} → {rss_mid / MIB:.0f} (half-way) → "
                                      f"{rss1 / MIB:.0f} MiB")
        if fds1 > fds0 + 8:
            outcome.violations.report("open files grew", str(n),
                                      f"lifetime {n}: fds {fds0} → {fds1}")


# --- main --------------------------------------------------------------------------------

class HardTimeout(BaseException):
    """The run overstayed its planned time by far: stop, clean up, fail."""


def stop_on_signals() -> None:
    def alarm(_number: int, _frame: FrameType | None) -> None:
        raise HardTimeout

    def terminate(number: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + number)

    signal.signal(signal.SIGALRM, alarm)
    signal.signal(signal.SIGTERM, terminate)


@contextlib.contextmanager
def workspace(plan: Plan) -> Iterator[Path]:
    """A temp folder for seeds, feeds, state, log and code; removed unless --keep."""
    root = Path(tempfile.mkdtemp(prefix="seedfeeds-soak-", dir=plan.tmp))
    try:
        yield root
    finally:
        if plan.keep:
            print(f"kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    plan = parse_plan(argv)
    stop_on_signals()
    signal.alarm(int(plan.minutes * 60) + 900)  # setup, final audit, and a wide margin
    with workspace(plan) as root:
        soak = Soak(plan, root)
        try:
            outcome = soak.run()
        except (KeyboardInterrupt, HardTimeout) as exc:
            print(f"\nstopped early: {type(exc).__name__}", flush=True)
            return 1
        finally:
            soak.stop.set()
            soak.calm.set()
            server = getattr(soak, "server", None)
            if server is not None:
                server.kill(signal.SIGKILL)
            signal.alarm(0)
        flatness(outcome)
        print(f"\n{summary(outcome)}\n", flush=True)
        if outcome.violations:
            print(f"{len(outcome.violations)} violations; server log: "
                  f"{'kept in ' + str(root) if plan.keep else 'rerun with --keep'}")
        return 1 if outcome.violations else 0


if __name__ == "__main__":
    sys.exit(main())
