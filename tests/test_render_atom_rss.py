"""Atom and RSS renderers: valid, round-tripping through feedparser, deterministic."""

from __future__ import annotations

import locale
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import escape
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from service.model import Feed
from service.render.atom_rss import render_atom_and_rss
from service.render.body import body_html, original_line

from support import samples

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = etree.RelaxNG(etree.parse(str(Path(__file__).parent / "data" / "atom.rng")))


def render_atom(feed: Feed) -> bytes:
    return render_atom_and_rss(feed)[0]


def render_rss(feed: Feed) -> bytes:
    return render_atom_and_rss(feed)[1]


RENDERERS: dict[str, Callable[[Feed], bytes]] = {"atom": render_atom, "rss": render_rss}
FEEDS: dict[str, Callable[[], Feed]] = {
    "samples": samples.feed,
    "empty": lambda: samples.feed(()),
    "awkward tag feed": lambda: samples.feed(samples.sample_entries()[:1], slug="tom-jerry",
                                             title=samples.AWKWARD),
    "chinese tag feed": lambda: samples.feed(samples.sample_entries()[1:2], slug="海军",
                                             title="海军"),
}

every_format = pytest.mark.parametrize("render", RENDERERS.values(), ids=RENDERERS.keys())
every_feed = pytest.mark.parametrize("make_feed", FEEDS.values(), ids=FEEDS.keys())


def parsed_entries(render: Callable[[Feed], bytes], feed: Feed) -> list:
    parsed = feedparser.parse(render(feed))
    assert len(parsed.entries) == len(feed.entries)
    return parsed.entries


def input_dates(feed: Feed) -> set[datetime]:
    """Every datetime the feed data carries."""
    return {feed.updated, *(moment for entry in feed.entries
                            for moment in (entry.published, entry.updated))}


def as_utc(moment: datetime) -> tuple[int, ...]:
    """The datetime as feedparser's *_parsed fields give it: a UTC time tuple."""
    return tuple(moment.astimezone(UTC).timetuple())[:6]


@every_feed
def test_atom_is_valid_against_the_rfc_4287_schema(make_feed: Callable[[], Feed]) -> None:
    document = etree.fromstring(render_atom(make_feed()))
    assert SCHEMA.validate(document), SCHEMA.error_log


@every_format
@every_feed
def test_feedparser_reads_the_feed_without_complaint(
        render: Callable[[Feed], bytes], make_feed: Callable[[], Feed]) -> None:
    parsed = feedparser.parse(render(make_feed()))
    assert parsed.bozo == 0, parsed.get("bozo_exception")


@every_format
def test_entry_ids_are_urn_uuids_of_the_article_ids_in_feed_order(
        render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    ids = [item.id for item in parsed_entries(render, feed)]
    assert ids == [f"urn:uuid:{entry.id}" for entry in feed.entries]


@every_format
def test_titles_with_markup_characters_and_chinese_round_trip(
        render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    titles = [item.title for item in parsed_entries(render, feed)]
    assert titles == [entry.title for entry in feed.entries]
    assert samples.AWKWARD in titles
    assert samples.CHINESE in titles


@every_format
def test_entry_links_are_the_article_pages(render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    links = [item.link for item in parsed_entries(render, feed)]
    assert links == [entry.url for entry in feed.entries]


@every_format
def test_one_category_per_tag_with_the_display_name_as_term(
        render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    terms = [[tag.term for tag in item.get("tags", [])] for item in parsed_entries(render, feed)]
    assert terms == [[tag.name for tag in entry.tags] for entry in feed.entries]


@every_format
def test_published_dates_round_trip(render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    dates = [tuple(item.published_parsed)[:6] for item in parsed_entries(render, feed)]
    assert dates == [as_utc(entry.published) for entry in feed.entries]


def test_atom_updated_dates_round_trip() -> None:
    feed = samples.feed()
    dates = [tuple(item.updated_parsed)[:6] for item in parsed_entries(render_atom, feed)]
    assert dates == [as_utc(entry.updated) for entry in feed.entries]


@every_format
def test_feed_updated_is_the_newest_entry_updated(render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    parsed = feedparser.parse(render(feed))
    newest = max(entry.updated for entry in feed.entries)
    assert tuple(parsed.feed.updated_parsed)[:6] == as_utc(newest)


@every_format
def test_body_html_is_the_content_or_else_the_rss_description(
        render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    # RSS puts the body in <description> when there is no summary to put there;
    # feedparser strips the surrounding whitespace.
    bodies = [item.content[0].value if "content" in item else item.summary
              for item in parsed_entries(render, feed)]
    assert bodies == [(body_html(entry) + original_line(entry)).strip()
                      for entry in feed.entries]


@every_format
def test_the_original_article_is_a_related_link_and_a_line_of_the_content(
        render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    (item, *_) = parsed_entries(render, feed)
    original = feed.entries[0].link
    assert original and {"rel": "related", "href": original} in [
        {"rel": link.rel, "href": link.href} for link in item.links]
    assert f'Original article: <a href="{escape(original)}"' in item.content[0].value


@every_format
def test_markdown_entry_content_is_rendered_html(render: Callable[[Feed], bytes]) -> None:
    markdown = samples.sample_entries()[2]
    item = parsed_entries(render, samples.feed((markdown,)))[0]
    assert "<em>emphasis</em>" in item.content[0].value
    assert '<a href="https://example.org/a?b=1&amp;c=2">link</a>' in item.content[0].value


def test_atom_content_is_escaped_html_not_cdata() -> None:
    data = render_atom(samples.feed())
    contents = etree.fromstring(data).iter(f"{ATOM}content")
    assert {content.get("type") for content in contents} == {"html"}
    assert b"CDATA" not in data


@every_format
def test_summary_is_the_plain_text_summary_as_html(render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    pairs = zip(parsed_entries(render, feed), feed.entries, strict=True)
    written = [item.summary for item, entry in pairs if entry.summary]
    assert written == [escape(entry.summary, quote=False)
                       for entry in feed.entries if entry.summary]


def test_a_summary_that_reads_like_markup_stays_text_for_readers() -> None:
    feed = samples.feed(entries=(samples.hostile_entry(),))
    atom, rss = render_atom_and_rss(feed)
    summary = etree.fromstring(atom).find(f"{ATOM}entry/{ATOM}summary")
    assert summary.get("type") == "html" and "<script>" not in summary.text
    assert "<script>" not in etree.fromstring(rss).find("channel/item/description").text


@every_format
def test_entry_author_is_given_by_name(render: Callable[[Feed], bytes]) -> None:
    feed = samples.feed()
    authors = [item.get("author") for item in parsed_entries(render, feed)]
    assert authors == [entry.author for entry in feed.entries]


def test_rss_guid_is_not_a_permalink_and_equals_the_atom_id() -> None:
    feed = samples.feed()
    atom_ids = [node.text for node in etree.fromstring(render_atom(feed))
                .iterfind(f"{ATOM}entry/{ATOM}id")]
    guids = etree.fromstring(render_rss(feed)).findall("channel/item/guid")
    assert [guid.get("isPermaLink") for guid in guids] == ["false"] * len(feed.entries)
    assert [guid.text for guid in guids] == atom_ids


def test_rss_items_have_pub_date_and_description() -> None:
    feed = samples.feed()
    items = etree.fromstring(render_rss(feed)).findall("channel/item")
    pub_dates = [parsedate_to_datetime(item.findtext("pubDate")) for item in items]
    assert pub_dates == [entry.published for entry in feed.entries]
    assert all(item.findtext("description") for item in items)


def test_rss_channel_link_is_the_page_and_atom_self_link_is_the_rss_url() -> None:
    feed = samples.feed()
    channel = etree.fromstring(render_rss(feed)).find("channel")
    assert channel.findtext("link") == feed.links.page
    self_link = channel.find(f"{ATOM}link[@rel='self']")
    assert (self_link.get("href"), self_link.get("type")) == (feed.links.rss,
                                                              "application/rss+xml")


def test_rss_last_build_date_is_the_feed_updated() -> None:
    feed = samples.feed()
    channel = etree.fromstring(render_rss(feed)).find("channel")
    assert parsedate_to_datetime(channel.findtext("lastBuildDate")) == feed.updated


def test_atom_links_are_self_then_the_html_page() -> None:
    feed = samples.feed()
    links = etree.fromstring(render_atom(feed)).findall(f"{ATOM}link")
    assert [(link.get("rel"), link.get("href"), link.get("type")) for link in links] == [
        ("self", feed.links.atom, "application/atom+xml"),
        ("alternate", feed.links.page, "text/html"),
    ]


def test_feed_id_depends_on_the_slug_not_the_host() -> None:
    def feed_id(feed: Feed) -> str:
        return etree.fromstring(render_atom(feed)).findtext(f"{ATOM}id")

    feed = samples.feed(slug="navy")
    other = "https://other.example"
    moved = replace(feed, links=samples.links("navy", other))
    assert feed_id(feed).startswith("urn:uuid:")
    assert feed_id(moved) == feed_id(feed)
    assert feed_id(samples.feed(slug="hainan")) != feed_id(feed)
    assert feed_id(samples.feed()) != feed_id(feed)


@every_format
def test_generator_is_seedfeeds_without_a_version(render: Callable[[Feed], bytes]) -> None:
    root = etree.fromstring(render(samples.feed()))
    generators = root.findall(f"{ATOM}generator") + root.findall("channel/generator")
    assert [(node.text, dict(node.attrib)) for node in generators] == [("seedfeeds", {})]


@every_format
def test_empty_feed_has_its_title_and_no_entries(render: Callable[[Feed], bytes]) -> None:
    parsed = feedparser.parse(render(samples.feed(())))
    assert (parsed.feed.title, parsed.entries) == ("Seed News", [])


@every_format
@every_feed
def test_rendering_twice_gives_identical_bytes(
        render: Callable[[Feed], bytes], make_feed: Callable[[], Feed]) -> None:
    assert render(make_feed()) == render(make_feed())


def test_every_atom_date_comes_from_the_input_not_the_clock() -> None:
    feed = samples.feed()
    root = etree.fromstring(render_atom(feed))
    written = {datetime.fromisoformat(node.text) for tag in ("updated", "published")
               for node in root.iter(f"{ATOM}{tag}")}
    assert written == input_dates(feed)


def test_every_rss_date_comes_from_the_input_not_the_clock() -> None:
    feed = samples.feed()
    channel = etree.fromstring(render_rss(feed)).find("channel")
    nodes = [channel.find("lastBuildDate"), *channel.iterfind("item/pubDate")]
    written = {parsedate_to_datetime(node.text) for node in nodes}
    assert written <= input_dates(feed)


def test_rss_rendering_leaves_the_process_locale_as_it_was() -> None:
    before = locale.setlocale(locale.LC_ALL)
    render_rss(samples.feed())
    assert locale.setlocale(locale.LC_ALL) == before


def test_rss_rendered_from_many_threads_at_once_is_identical() -> None:
    feed = samples.feed()
    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = set(pool.map(lambda _: render_rss(feed), range(32)))
    assert outputs == {render_rss(feed)}
