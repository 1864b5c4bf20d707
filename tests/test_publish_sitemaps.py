"""The sitemaps a publish pass writes: sitemap.xml (an index of parts on a large site),
the Google News sitemap of the last 48 hours, and robots.txt naming them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from service.config import load_settings
from service.model import Entry
from service.publish import news, sitemaps
from service.publish.publisher import Publisher
from service.render import sitemap

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
BASE = "https://news.example.org"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = T0.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path: Path, seeds: Path):
    return load_settings({"seeds": str(seeds), "feeds": str(tmp_path / "feeds"),
                          "state": str(tmp_path / "state.sqlite"), "base_url": BASE,
                          "site_title": "Harbour Times", "language": "pt-BR"}, {})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def publisher(settings, clock):
    made = [Publisher(settings, clock=clock)]
    yield made[0]
    made[0].close()


@pytest.fixture
def article(write):
    """Write one article into its own seed file, released ``ago`` before T0."""
    def write_article(name: str, ago: timedelta = timedelta(days=10),
                      tags: str = "News | Daily",
                      title: str | None = None) -> None:
        when = T0 - ago
        write(f"{name}.txt", f"{title or f'Story {name} is out.'} {tags}\n"
                             f"Release time:{when:%Y-%m-%d %H:%M}\n\nBody of {name}.\n")
    return write_article


def parse(feeds: Path, name: str) -> etree._Element:
    return etree.fromstring((feeds / name).read_bytes())


def dated(root: etree._Element, tag: str = "url") -> dict[str, datetime]:
    """loc -> lastmod of every <url> (or <sitemap>) of a parsed sitemap."""
    return {row.findtext(f"{SITEMAP}loc"): datetime.fromisoformat(row.findtext(f"{SITEMAP}lastmod"))
            for row in root.iter(f"{SITEMAP}{tag}")}


def news_urls(feeds: Path) -> list[str]:
    return [row.findtext(f"{SITEMAP}loc") for row in parse(feeds, "sitemap-news.xml")]


def entries_of(publisher: Publisher) -> list[Entry]:
    """Every released article's entry, as the feeds render it."""
    return [publisher.releases.entry(i) for i in publisher.releases.entries]


def parts(feeds: Path) -> dict[int, bytes]:
    return {int(p.stem): p.read_bytes() for p in (feeds / "sitemaps").glob("*.xml")}


def test_the_sitemap_lists_every_page_dated_by_its_update(article, publisher, settings):
    for name in ("a", "b", "c"):
        article(name, tags="News | Port" if name == "b" else "News | Daily")
    publisher.publish()
    entries = entries_of(publisher)
    tags = publisher.planner.summaries.values()
    assert dated(parse(settings.feeds, "sitemap.xml")) == {
        f"{BASE}/": max(e.updated for e in entries),
        **{f"{BASE}/tags/{t.slug}/": t.updated for t in tags},
        **{e.url: e.updated for e in entries}}
    assert len(entries) == 3 and len(tags) == 3


def test_an_embargoed_article_is_in_no_sitemap_until_released(article, publisher, settings,
                                                               clock):
    article("later", ago=-timedelta(hours=1))
    publisher.publish()
    assert b"articles/" not in (settings.feeds / "sitemap.xml").read_bytes()
    assert news_urls(settings.feeds) == []
    clock.now += 2 * HOUR
    publisher.publish()
    [entry] = entries_of(publisher)
    assert entry.url in dated(parse(settings.feeds, "sitemap.xml"))
    assert news_urls(settings.feeds) == [entry.url]


def test_robots_txt_allows_everything_and_names_both_sitemaps(publisher, settings):
    publisher.publish()
    assert (settings.feeds / "robots.txt").read_text() == (
        f"User-agent: *\nAllow: /\n\nSitemap: {BASE}/sitemap.xml\n"
        f"Sitemap: {BASE}/sitemap-news.xml\n")


def test_the_news_sitemap_holds_the_last_48_hours(article, publisher, settings):
    article("fresh", ago=timedelta(hours=1))
    article("old", ago=timedelta(days=3))
    publisher.publish()
    [row] = parse(settings.feeds, "sitemap-news.xml")
    fresh = next(e for e in entries_of(publisher) if "fresh" in e.title)
    assert row.findtext(f"{SITEMAP}loc") == fresh.url
    assert row.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}name") == "Harbour Times"
    assert row.findtext(f"{NEWS}news/{NEWS}publication/{NEWS}language") == "pt-BR"
    assert datetime.fromisoformat(row.findtext(f"{NEWS}news/{NEWS}publication_date")) == (
        T0 - timedelta(hours=1))
    assert row.findtext(f"{NEWS}news/{NEWS}title") == "Story fresh is out."


def test_an_article_leaves_the_news_sitemap_at_the_first_pass_after_48_hours(
        article, publisher, settings, clock):
    article("fresh", ago=timedelta(hours=1))
    publisher.publish()
    clock.now += 46 * HOUR
    publisher.publish()
    assert len(news_urls(settings.feeds)) == 1
    clock.now += 2 * HOUR
    publisher.publish()  # a reconcile pass: nothing changed but the time
    assert news_urls(settings.feeds) == []


def test_the_news_sitemap_lists_the_newest_first_up_to_its_limit(
        article, settings, clock, monkeypatch):
    monkeypatch.setattr(news, "NEWS_MAX", 2)
    for hours in (3, 1, 2):
        article(f"h{hours}", ago=timedelta(hours=hours))
    publisher = Publisher(settings, clock=clock)
    publisher.publish()
    by_url = {e.url: e.title for e in entries_of(publisher)}
    publisher.close()
    assert [by_url[url] for url in news_urls(settings.feeds)] == [
        "Story h1 is out.", "Story h2 is out."]


def test_a_site_above_the_part_size_is_an_index_of_parts(article, publisher, settings,
                                                         monkeypatch):
    monkeypatch.setattr(sitemaps, "PART_SIZE", 3)
    for n in range(7):
        article(f"s{n}", ago=timedelta(days=10 - n))
    publisher = Publisher(settings, clock=publisher.clock)  # made after the patch
    publisher.publish()
    publisher.close()
    index = parse(settings.feeds, "sitemap.xml")
    assert index.tag == f"{SITEMAP}sitemapindex"
    listed = dated(index, "sitemap")
    assert list(listed) == [f"{BASE}/sitemaps/{n}.xml" for n in (1, 2, 3, 4)]
    pages: dict[str, datetime] = {}
    for n in (1, 2, 3, 4):
        part = dated(parse(settings.feeds, f"sitemaps/{n}.xml"))
        assert 1 <= len(part) <= 3
        assert listed[f"{BASE}/sitemaps/{n}.xml"] == max(part.values())
        pages.update(part)
    assert len(pages) == 7 + 3  # the articles, the index page and the tag pages
    assert list(part) == [f"{BASE}/", f"{BASE}/tags/daily/", f"{BASE}/tags/news/"]


def test_shrinking_the_site_removes_the_stale_parts(article, seeds, settings, clock,
                                                    monkeypatch):
    monkeypatch.setattr(sitemaps, "PART_SIZE", 4)
    for n in range(7):
        article(f"s{n}", ago=timedelta(days=10 - n))
    publisher = Publisher(settings, clock=clock)
    publisher.publish()
    assert sorted(parts(settings.feeds)) == [1, 2, 3]  # 4 + 3 articles, then 3 pages
    for n in range(4):
        (seeds / f"s{n}.txt").unlink()
    publisher.publish()
    assert sorted(parts(settings.feeds)) == [1, 2]
    for n in range(4, 6):
        (seeds / f"s{n}.txt").unlink()
    publisher.publish()  # one article, its two tags and the index: one sitemap again
    publisher.close()
    assert parts(settings.feeds) == {}
    assert parse(settings.feeds, "sitemap.xml").tag == f"{SITEMAP}urlset"
    assert "sitemaps/" not in (settings.feeds / "index.json").read_text()


@pytest.fixture
def large(article, settings, clock, monkeypatch):
    """A site of 7 articles in parts of 3: sitemaps/1-3.xml, the pages in 4.xml."""
    monkeypatch.setattr(sitemaps, "PART_SIZE", 3)
    for n in range(7):
        article(f"s{n}", ago=timedelta(days=10 - n))
    publisher = Publisher(settings, clock=clock)
    publisher.publish()
    yield publisher
    publisher.close()


def inodes(feeds: Path) -> dict[int, int]:
    return {int(p.stem): p.stat().st_ino for p in (feeds / "sitemaps").glob("*.xml")}


def test_a_back_dated_new_article_rewrites_only_the_last_article_part(
        large, article, settings, clock):
    """It arrives last all the same; its date moves neither the index nor its tags."""
    before, held = parts(settings.feeds), inodes(settings.feeds)
    clock.now += HOUR
    article("late", ago=timedelta(days=30))
    large.publish({"late.txt"})
    after = parts(settings.feeds)
    assert [n for n in after if after[n] != before[n]] == [3]
    assert {n: i for n, i in inodes(settings.feeds).items() if n != 3} == {
        n: i for n, i in held.items() if n != 3}
    late = next(e for e in entries_of(large) if "late" in e.title)
    assert list(dated(parse(settings.feeds, "sitemaps/3.xml")))[-1] == late.url


def test_a_new_article_rewrites_the_last_article_part_and_the_pages_part(
        large, article, settings, clock):
    before = parts(settings.feeds)
    clock.now += HOUR
    article("new", ago=timedelta(0))
    large.publish({"new.txt"})
    after = parts(settings.feeds)
    assert [n for n in after if after[n] != before[n]] == [3, 4]


def test_passes_one_file_at_a_time_give_the_sitemaps_of_a_fresh_build(
        article, settings, clock, monkeypatch, tmp_path):
    monkeypatch.setattr(sitemaps, "PART_SIZE", 3)
    publisher = Publisher(settings, clock=clock)
    for n in range(8):
        article(f"s{n}", ago=timedelta(hours=60 - 10 * n), tags=f"News | T{n % 3}")
        clock.now += HOUR
        publisher.publish({f"s{n}.txt"})
    publisher.close()
    built = {p: (settings.feeds / p).read_bytes() for p in _sitemap_files(settings.feeds)}
    fresh = settings.replace(feeds=tmp_path / "fresh")
    again = Publisher(fresh, clock=clock)
    again.publish()
    again.close()
    assert {p: (fresh.feeds / p).read_bytes() for p in _sitemap_files(fresh.feeds)} == built


def test_edits_moves_and_deletions_pass_by_pass_give_the_sitemaps_of_a_fresh_build(
        article, seeds, settings, clock, monkeypatch, tmp_path):
    """Rows change in place (an edit moves lastmod), move (a new release time), leave
    (a deletion) and arrive, in parts of three: each pass's sitemaps are a fresh
    build's."""
    monkeypatch.setattr(sitemaps, "PART_SIZE", 3)
    publisher = Publisher(settings, clock=clock)
    for n in range(10):
        article(f"s{n}", ago=timedelta(hours=100 - 7 * n), tags=f"News | T{n % 3}")
    publisher.publish()
    rng = random.Random(5)
    for step in range(24):
        n = rng.randrange(12)
        name = f"s{n}.txt"
        clock.now += HOUR
        kind = rng.choice(["edit", "move", "delete", "add"])
        if kind == "delete" and (seeds / name).exists():
            (seeds / name).unlink()
        elif kind == "edit" and (seeds / name).exists():
            (seeds / name).write_text((seeds / name).read_text() + f"Edited {step}.\n")
        else:
            article(f"s{n}", ago=timedelta(hours=rng.randrange(1, 120)), tags=f"News | T{n % 3}")
        publisher.publish({name})
        built = {p: (settings.feeds / p).read_bytes() for p in _sitemap_files(settings.feeds)}
        fresh = settings.replace(feeds=tmp_path / f"fresh{step}")
        again = Publisher(fresh, clock=clock)
        again.publish()
        again.close()
        assert {p: (fresh.feeds / p).read_bytes()
                for p in _sitemap_files(fresh.feeds)} == built, (step, kind, name)
    publisher.close()


def _sitemap_files(feeds: Path) -> list[str]:
    return sorted(["sitemap.xml", "sitemap-news.xml", "robots.txt",
                   *(f"sitemaps/{p.name}" for p in (feeds / "sitemaps").glob("*.xml"))])


def test_every_sitemap_is_xml_in_the_sitemaps_namespace(article, settings, clock,
                                                        monkeypatch):
    monkeypatch.setattr(sitemaps, "PART_SIZE", 3)
    for n in range(4):
        article(f"s{n}", ago=timedelta(hours=n))
    publisher = Publisher(settings, clock=clock)
    publisher.publish()
    publisher.close()
    roots = {name: parse(settings.feeds, name) for name in _sitemap_files(settings.feeds)
             if name.endswith(".xml")}
    assert {name: root.tag for name, root in roots.items()} == {
        "sitemap.xml": f"{SITEMAP}sitemapindex", "sitemap-news.xml": f"{SITEMAP}urlset",
        "sitemaps/1.xml": f"{SITEMAP}urlset", "sitemaps/2.xml": f"{SITEMAP}urlset",
        "sitemaps/3.xml": f"{SITEMAP}urlset"}
    assert roots["sitemap-news.xml"].nsmap == {None: SITEMAP[1:-1], "news": NEWS[1:-1]}


def test_markup_characters_in_a_title_are_escaped(article, publisher, settings):
    article("awkward", ago=timedelta(hours=1), title='Tom & Jerry <b> say "hi".')
    publisher.publish()
    data = (settings.feeds / "sitemap-news.xml").read_bytes()
    assert b"Tom &amp; Jerry &lt;b&gt; say &quot;hi&quot;." in data
    [entry] = entries_of(publisher)
    title = etree.fromstring(data).findtext(f".//{NEWS}title")
    assert title == entry.title == 'Tom & Jerry <b> say "hi".'


@given(st.text(st.characters(exclude_categories=())))  # surrogates too
@example("\x00\x08\x0b\x0c\x0e\x1f\ud800\udfff\ufffe\uffff")  # each edge of what is not
@example("\t\n\r \ud7ff\ue000\ufffd\U00010000\U0010ffff")  # each edge of what is
def test_sitemap_text_drops_exactly_what_xml_cannot_carry_and_parses_back(value):
    allowed = [c for c in value if c in "\t\n\r" or " " <= c <= "\ud7ff"
               or "\ue000" <= c <= "\ufffd" or c >= "\U00010000"]
    document = f"<t>{sitemap.text(value)}</t>".encode()
    parsed = etree.fromstring(document).text or ""
    assert parsed == "".join(allowed).replace("\r\n", "\n").replace("\r", "\n")


def test_a_deleted_article_leaves_its_place_in_the_news_to_the_next_newest(
        article, seeds, settings, clock, monkeypatch):
    monkeypatch.setattr(news, "NEWS_MAX", 1)  # keeps 2 aside: the third needs a ranking
    for hours in (1, 2, 3):
        article(f"h{hours}", ago=timedelta(hours=hours))
    publisher = Publisher(settings, clock=clock)
    publisher.publish()
    titles = []
    for hours in (1, 2):
        (seeds / f"h{hours}.txt").unlink()
        publisher.publish({f"h{hours}.txt"})
        by_url = {e.url: e.title for e in entries_of(publisher)}
        titles += [by_url[url] for url in news_urls(settings.feeds)]
    publisher.close()
    assert titles == ["Story h2 is out.", "Story h3 is out."]


@given(base=st.text(max_size=30), pages=st.lists(st.tuples(
    st.text(max_size=40), st.datetimes(timezones=st.just(UTC))), max_size=20))
def test_rows_rendered_in_a_batch_are_those_rendered_one_by_one(base, pages):
    """A part's rows are rendered together (the base escaped once, a shared date
    formatted once): the bytes of each row alone."""
    pages += pages[-1:]  # neighbours with the very same date
    rows = sitemap.url_rows(base, pages)
    assert rows == [sitemap.url_row(base + name, sitemap.w3c(when)) for name, when in pages]


def test_an_edit_of_an_old_article_mends_its_part_unless_the_file_was_changed_by_hand(
        article, seeds, settings, clock, monkeypatch, tmp_path):
    """An edit moves one row's lastmod in an old part: the part is its published file
    with that row replaced, the bytes of a fresh build; a part file edited by hand is
    rendered anew, the hand edit gone."""
    monkeypatch.setattr(sitemaps, "PART_SIZE", 3)
    publisher = Publisher(settings, clock=clock)
    for n in range(10):
        article(f"s{n}", ago=timedelta(hours=100 - 7 * n), tags="News")
    publisher.publish()
    first = settings.feeds / "sitemaps" / "1.xml"
    for step, tamper in enumerate((False, True)):
        if tamper:
            first.write_bytes(first.read_bytes().replace(b"<url>", b"<url> ", 1))
        clock.now += HOUR
        oldest = seeds / "s0.txt"
        oldest.write_text(oldest.read_text() + f"Edited {step}.\n")
        publisher.publish({"s0.txt"})
        fresh = settings.replace(feeds=tmp_path / f"fresh{step}")
        again = Publisher(fresh, clock=clock)
        again.publish()
        again.close()
        assert first.read_bytes() == (fresh.feeds / "sitemaps" / "1.xml").read_bytes()
        assert {p: (settings.feeds / p).read_bytes() for p in _sitemap_files(settings.feeds)} == {
            p: (fresh.feeds / p).read_bytes() for p in _sitemap_files(fresh.feeds)}
    publisher.close()
