"""A publisher keeps in memory the text of what its feeds list, and no more (issue:
memory proportional to what must be in memory, not to the site's text).

Each article's body carries a mark of its own. After a pass, every object reachable
from the publisher and from the service's modules (their caches) is walked, and the
marks found in strings and bytes are the articles whose text is still held: they must
all be articles some subscription document lists."""

from __future__ import annotations

import gc
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from service.catalog import texts
from service.config import load_settings
from service.publish.publisher import Publisher

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
TAGS = ("Harbour", "Transport", "Culture", "Weather", "Markets")
MARK = re.compile(rb"bodymark(\d+)x")
ARTICLES = 3000


def write_seeds(seeds: Path, count: int, files: int = 30) -> None:
    """``count`` dated articles in ``files`` files, each body marked with its number."""
    seeds.mkdir(parents=True, exist_ok=True)
    per_file = count // files
    for number in range(files):
        lines = []
        for n in range(number * per_file, (number + 1) * per_file):
            day, minute = divmod(n, 1440)
            tags = " | ".join(TAGS[(n + k) % len(TAGS)] for k in range(1 + n % 3))
            lines += [f"Story {n} of the harbour {tags}",
                      f"Release time:2025-{1 + day // 28:02}-{1 + day % 28:02} "
                      f"{minute // 60:02}:{minute % 60:02}", "",
                      f"The body of story {n} says bodymark{n}x and goes on at length "
                      f"about ships, tides and the weather of the day.", ""]
        (seeds / f"file{number:03}.txt").write_text("\n".join(lines), encoding="utf-8")


def reachable_marks(*roots: object) -> set[int]:
    """The marks of every str and bytes reachable from ``roots``."""
    seen: set[int] = set()
    marks: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            if "bodymark" in obj:
                marks.update(int(m) for m in MARK.findall(obj.encode("utf-8", "replace")))
            continue
        if isinstance(obj, (bytes, bytearray)):
            marks.update(int(m) for m in MARK.findall(obj))
            continue
        if isinstance(obj, (int, float, type(None), bool)):
            continue
        stack.extend(gc.get_referents(obj))
    return marks


def listed_marks(feeds: Path) -> set[int]:
    """The marks of the entries the subscription documents list, read as a reader would."""
    marks: set[int] = set()
    for path in [feeds / "all.atom", *sorted((feeds / "tags").glob("*.atom"))]:
        for entry in feedparser.parse(path.read_bytes()).entries:
            marks.update(int(m) for m in MARK.findall(entry.content[0].value.encode()))
    return marks


@pytest.fixture
def publisher(tmp_path: Path):
    write_seeds(tmp_path / "seeds", ARTICLES)
    settings = load_settings({"seeds": str(tmp_path / "seeds"),
                              "feeds": str(tmp_path / "feeds"),
                              "state": str(tmp_path / "state" / "state.sqlite"),
                              "entries": "6", "archive_size": "3"}, {})
    publisher = Publisher(settings, clock=lambda: T0)
    yield publisher
    publisher.close()


def service_modules() -> list[object]:
    return [module for name, module in sys.modules.items()
            if name == "service" or name.startswith("service.")]


def test_after_a_build_only_the_text_of_listed_entries_is_in_memory(publisher):
    publisher.publish()
    listed = listed_marks(publisher.settings.feeds)
    held = reachable_marks(publisher, *service_modules())
    assert 0 < len(listed) < ARTICLES / 10  # small windows: most articles are archived
    assert held - listed == set(), f"{len(held - listed)} unlisted articles' text held"


def test_after_a_new_file_the_text_of_articles_that_left_the_feeds_is_let_go(publisher):
    publisher.publish()
    seeds = publisher.settings.seeds
    (seeds / "new.txt").write_text(
        "".join(f"Fresh story {n} Harbour | Transport\nRelease time:2026-02-01 10:{n:02}\n\n"
                f"Fresh body {n} bodymark{100000 + n}x.\n\n" for n in range(10)),
        encoding="utf-8")
    publisher.publish({"new.txt"})
    listed = listed_marks(publisher.settings.feeds)
    assert {100000 + n for n in range(10)} & listed  # the new ones are at the heads
    held = reachable_marks(publisher, *service_modules())
    assert held - listed == set(), f"{len(held - listed)} unlisted articles' text held"


def test_text_let_go_is_read_back_to_render_an_archive_again(publisher):
    """A deletion rewrites the archives holding the article: their other entries' text
    comes back from the spill file, byte for byte as first rendered."""
    publisher.publish()
    feeds = publisher.settings.feeds
    archive = feeds / "archive" / "all" / "1.atom"
    before = feedparser.parse(archive.read_bytes()).entries
    assert len(before) == 3
    victim = before[0].title
    number = int(victim.split()[1])
    path = publisher.settings.seeds / f"file{number // 100:03}.txt"
    text = path.read_text(encoding="utf-8")
    start = text.index(f"Story {number} of")
    end = text.find("\nStory ", start)
    path.write_text(text[:start] + (text[end + 1:] if end != -1 else ""), encoding="utf-8")
    publisher.publish({path.name})
    after = feedparser.parse(archive.read_bytes()).entries
    assert [e.title for e in after] == [e.title for e in before[1:]]
    assert [e.content[0].value for e in after] == [e.content[0].value for e in before[1:]]


def test_the_spill_file_of_a_long_run_of_edits_stays_within_twice_what_is_live(
        publisher, monkeypatch, tmp_path):
    """Each read of a file writes its texts again; the copies no article points to are
    dropped once they are most of the file, and every page still renders as before."""
    monkeypatch.setattr(texts, "COMPACT_AT", 1)
    publisher.publish()
    live = publisher.texts.size
    seeds = publisher.settings.seeds
    for n in range(4):  # every file edited: a whole copy of the site's text each time
        for path in sorted(seeds.glob("*.txt")):
            path.write_text(path.read_text(encoding="utf-8").replace(
                "goes on at length", f"goes on ({n}) at length"), encoding="utf-8")
        publisher.publish({path.name for path in seeds.glob("*.txt")})
        assert publisher.texts.size <= 2 * live + 64 * 1024
    fresh = publisher.settings.replace(feeds=tmp_path / "fresh")
    again = Publisher(fresh, clock=lambda: T0)
    again.publish()
    again.close()
    # (not the archives: an edited archived entry is announced again, its archive kept)
    for name in ("all.atom", "tags/harbour.atom", "articles"):
        if name == "articles":
            pages = sorted((fresh.feeds / name).iterdir())
            assert [p.read_bytes() for p in pages] == [
                (publisher.settings.feeds / name / p.name).read_bytes() for p in pages]
        else:
            assert (fresh.feeds / name).read_bytes() == (
                publisher.settings.feeds / name).read_bytes()


def test_after_a_restart_each_archived_id_is_one_string_the_catalog_holds(publisher):
    """A restart reads every feed's archives from the state: each id must then be the
    catalog's own string, not a copy in each of the five feeds that archived it (a
    restart's resident memory was twice a fresh start's)."""
    publisher.publish()
    publisher.close()
    restarted = Publisher(publisher.settings, clock=lambda: T0)
    try:
        restarted.publish()
        articles = restarted.catalog.articles
        archived = [(i, bucket) for log in restarted.planner.logs.values()
                    for bucket in log.archives for i in bucket.ids]
        assert len(archived) > ARTICLES  # each article is archived in several feeds
        assert all(i is articles[i].id for i, _ in archived)
    finally:
        restarted.close()
