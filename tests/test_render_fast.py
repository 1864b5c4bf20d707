"""The feeds built as strings are, byte for byte, what feedgen and json.dumps write.

``atom_rss._reference`` renders a whole Feed with feedgen (lxml underneath), and
``jsonfeed._reference`` dumps it with ``json.dumps(indent=2)``: the published bytes
must be theirs, for the golden site's entries, for every combination of the optional
fields, for every paging shape, and for hostile text (hypothesis).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_publish_golden import build

from service import layout
from service.model import Entry, Feed, TagRef
from service.render import atom_rss, entries, files, jsonfeed

from support import samples

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
HUBS = ("https://news.example.org/websub", "https://hub.example.com/?a=1&b=\"2\"")
ICON = "https://news.example.org/static/icon.png"


def assert_as_reference(feed: Feed) -> None:
    """The feed's three documents are the reference's bytes (rendered fresh, and again
    from the kept entry parts)."""
    atom, rss = atom_rss._reference(feed)
    document = jsonfeed._reference(feed)
    for _ in range(2):
        fast_atom, fast_rss = atom_rss.render_atom_and_rss(feed)
        assert fast_atom.decode() == atom.decode()
        assert fast_rss.decode() == rss.decode()
        assert jsonfeed.render_json(feed).decode() == document.decode()


def paging(feed: Feed) -> list[Feed]:
    """The feed as each kind of document it may be (RFC 5005)."""
    def archive(number: int):
        return layout.archive_links(samples.BASE, feed.slug, number)
    return [feed, replace(feed, complete=True), replace(feed, prev_archive=archive(4)),
            replace(feed, hubs=(), archive=archive(1)),
            replace(feed, hubs=(), archive=archive(2), prev_archive=archive(1)),
            replace(feed, archive=archive(3), prev_archive=archive(2), complete=True)]


@pytest.fixture(scope="module")
def golden_feeds(tmp_path_factory: pytest.TempPathFactory) -> list[Feed]:
    """Every feed the golden site's build renders."""
    rendered: list[Feed] = []
    real = files.feed_files

    def recording(feed: Feed) -> dict[str, bytes]:
        rendered.append(feed)
        return real(feed)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "feed_files", recording)
        build(tmp_path_factory.mktemp("golden"))
    return rendered


def test_every_golden_feed_is_the_reference_in_every_paging_shape(golden_feeds) -> None:
    assert len(golden_feeds) > 5
    assert len({entry.id for feed in golden_feeds for entry in feed.entries}) == 10
    for feed in golden_feeds:
        for shaped in paging(feed):
            assert_as_reference(shaped)


def test_every_golden_entry_alone_is_the_reference(golden_feeds) -> None:
    every = {entry.id: entry for feed in golden_feeds for entry in feed.entries}
    for entry in every.values():
        assert_as_reference(samples.feed((entry,)))


def variants(entry: Entry) -> list[Entry]:
    """The entry with each optional field there and not."""
    return [entry, replace(entry, link=None), replace(entry, author=None),
            replace(entry, summary=""), replace(entry, tags=()), replace(entry, paragraphs=()),
            replace(entry, paragraphs=(), link=None, summary=""),
            replace(entry, link=None, author=None, summary="", tags=()),
            replace(entry, markup="markdown", paragraphs=(samples.MARKDOWN,)),
            replace(entry, updated=entry.published + timedelta(days=1, microseconds=7)),
            replace(entry, url="")]


@pytest.mark.parametrize("index", range(len(samples.sample_entries())))
def test_each_sample_entry_with_and_without_each_field_is_the_reference(index: int) -> None:
    for entry in variants(samples.sample_entries()[index]):
        assert_as_reference(samples.feed((entry,)))


def test_hostile_text_in_every_field_is_the_reference() -> None:
    hostile = samples.HOSTILE + " \r\t\n]]> &amp; 😀"
    entry = replace(samples.hostile_entry(), title=hostile, summary=hostile, author=hostile,
                    link=f"https://example.org/?q={hostile}", url=f"{samples.BASE}/{hostile}",
                    paragraphs=(hostile, hostile), tags=(TagRef(hostile, "h"), TagRef("", "e")))
    feed = replace(samples.feed((entry,)), title=hostile, subtitle=hostile, author=hostile,
                   hubs=(hostile,), icon=hostile, links=samples.links(hostile))
    for shaped in paging(feed):
        assert_as_reference(shaped)


@pytest.mark.parametrize("hubs", [(), HUBS[:1], HUBS])
@pytest.mark.parametrize("icon", ["", ICON])
@pytest.mark.parametrize("items", [(), None], ids=["empty", "samples"])
def test_feeds_with_and_without_hubs_icon_and_paging_are_the_reference(hubs, icon,
                                                                       items) -> None:
    feed = replace(samples.feed(items, slug="navy"), hubs=hubs, icon=icon)
    for shaped in [*paging(feed), replace(feed, slug=None, links=samples.links(None)),
                   replace(feed, subtitle="", author="")]:
        assert_as_reference(shaped)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=-9, minutes=-30),
                                    timedelta(hours=14), timedelta(hours=5, seconds=3),
                                    timedelta(minutes=-1, microseconds=-5)])
@pytest.mark.parametrize("when", [datetime(2024, 2, 29, 23, 59, 59, 999999),
                                  datetime(1, 1, 1, 12), datetime(999, 12, 31, 12),
                                  datetime(9999, 12, 31, 1, 2, 3)])
def test_dates_are_written_as_feedgen_writes_them(offset, when) -> None:
    moment = when.replace(tzinfo=timezone(offset))
    entry = replace(samples.entry(), published=moment, updated=moment)
    assert_as_reference(replace(samples.feed((entry,)), updated=moment))


def test_an_untitled_entry_or_feed_is_refused_as_feedgen_refuses_it() -> None:
    untitled = replace(samples.entry(), title="")
    for feed in (samples.feed((untitled,)), replace(samples.feed(), title="")):
        with pytest.raises(ValueError):
            atom_rss._reference(feed)
        with pytest.raises(ValueError):
            atom_rss.render_atom_and_rss(feed)


def test_an_entry_in_another_feed_is_its_kept_part() -> None:
    entry = replace(samples.entry(), title="Kept between feeds")
    first = entries.parts(entry)
    assert entries.parts(replace(entry)) is first
    assert entries.parts(replace(entry, summary="changed")) is not first


# Text as the seed reader passes it: any character XML 1.0 allows but the control
# characters other than tab, newline and carriage return; weighted towards the ones
# that are escaped, non-ASCII, astral characters and long runs.
CHARACTERS = st.characters(blacklist_categories=("Cs", "Cc"),
                           blacklist_characters="\ufffe\uffff")
PIECES = st.sampled_from(["&", "<", ">", '"', "'", "\r", "\t", "\n", "\r\n", "]]>", "&amp;",
                          "&#13;", "é", "中文", "😀", "\U0010fffd", "\xa0", "\u2028", " ",
                          "*", "`", "[a](https://x.org/?a&b)", "x" * 300])
TEXT = st.lists(st.one_of(PIECES, st.text(CHARACTERS, max_size=8)), max_size=30).map(
    "".join)
OFFSETS = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.builds(lambda when, zone: when.replace(tzinfo=zone),
                    st.datetimes(), OFFSETS)
ENTRIES = st.builds(
    Entry, id=st.uuids().map(str), title=TEXT.filter(bool), url=TEXT, published=MOMENTS,
    updated=MOMENTS, tags=st.lists(st.builds(TagRef, TEXT, st.just("t")), max_size=4).map(
        tuple),
    summary=TEXT, paragraphs=st.lists(TEXT, max_size=3).map(tuple),
    markup=st.sampled_from(["text", "markdown"]), link=st.one_of(st.none(), TEXT),
    author=st.one_of(st.none(), TEXT))


@SETTINGS
@given(st.lists(ENTRIES, max_size=3).map(tuple), TEXT.filter(bool), TEXT, TEXT,
       st.lists(TEXT, max_size=2).map(tuple), TEXT, MOMENTS, st.integers(0, 5))
def test_hostile_feeds_are_the_reference(items, title, subtitle, author, hubs, icon,
                                         updated, shape) -> None:
    feed = replace(samples.feed(items), title=title, subtitle=subtitle, author=author,
                   hubs=hubs, icon=icon, updated=updated, links=samples.links(title))
    assert_as_reference(paging(feed)[shape])


def test_the_reference_still_renders_the_golden_all_feed(golden_feeds) -> None:
    """The reference is the real thing: its all feed is the golden site's."""
    golden = Path(__file__).parent / "data" / "site"
    every = [feed for feed in golden_feeds if feed.slug is None][-1]
    atom, rss = atom_rss._reference(every)
    assert (atom, rss) == ((golden / "all.atom").read_bytes(), (golden / "all.rss").read_bytes())
    assert jsonfeed._reference(every) == (golden / "all.json").read_bytes()
