"""Checks of a built feeds/ folder as a feed reader sees it, shared by the tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import feedparser
from lxml import etree

from service import layout

REPORTS = (layout.STATUS, layout.HUB_STATUS, "mirror.json")
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parents[1] / "data" / "atom.rng")))


def assert_valid_feed(path: Path) -> feedparser.FeedParserDict | dict:
    """One feed file is valid for its format; returns what a reader parses from it."""
    data = path.read_bytes()
    if path.suffix == ".json":
        feed = json.loads(data)
        assert feed["version"] == "https://jsonfeed.org/version/1.1", path
        assert isinstance(feed["items"], list), path
        return feed
    if path.suffix == ".atom":
        document = etree.fromstring(data)
        assert SCHEMA.validate(document), f"{path}: {SCHEMA.error_log}"
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, f"{path}: {parsed.get('bozo_exception')}"
    return parsed


def assert_valid_site(feeds: Path) -> int:
    """Every feed, the OPML and the .gz siblings in ``feeds`` are valid; returns the count."""
    count = 0
    for path in sorted(feeds.rglob("*")):
        if layout.feed_url_of("", path.relative_to(feeds).as_posix()) is not None:
            assert_valid_feed(path)
            count += 1
        elif path.suffix == ".opml":
            etree.fromstring(path.read_bytes())
        elif path.suffix == ".gz":
            assert gzip.decompress(path.read_bytes()) == path.with_suffix("").read_bytes()
    return count


def entry_ids(path: Path) -> list[str]:
    """The entry ids of an Atom feed, in document order."""
    return [entry.id for entry in assert_valid_feed(path).entries]


def snapshot(feeds: Path) -> dict[str, tuple[int, bytes]]:
    """Every file's mtime and bytes, except the reports (status.json changes on every
    pass; the hub's and the mirror's on their own)."""
    return {str(p.relative_to(feeds)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(feeds.rglob("*")) if p.is_file() and p.name not in REPORTS}
