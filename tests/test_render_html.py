"""The pages built as strings are, byte for byte, what the Jinja templates render.

``pages._reference`` renders a page with the templates (base.html, macros.html and the
page's own): the index, the tag pages, the article pages and the 404 page a build
writes must be its bytes, for the golden site's pages, for every optional part there
and not, for entries listed on several pages (their list items are kept), and for
hostile text in every field (hypothesis).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_publish_golden import build
from test_render_fast import MOMENTS, TEXT

from service.model import Entry, Feed, Site, TagRef, TagSummary
from service.render import files, pages

from support import samples

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def assert_index(site: Site, tags: tuple[TagSummary, ...], feed: Feed) -> None:
    assert (pages.render_index(site, tags, feed).decode()
            == pages._reference("index", site, tags, feed).decode())


def assert_tag_page(site: Site, feed: Feed, count: int | None = None) -> None:
    assert (pages.render_tag_page(site, feed, count).decode()
            == pages._reference("tag", site, feed, count).decode())


def assert_article(site: Site, entry: Entry) -> None:
    assert (pages.render_article_page(site, entry).decode()
            == pages._reference("article", site, entry).decode())


def assert_not_found(site: Site, what: str) -> None:
    assert (pages.render_not_found(site, what).decode()
            == pages._reference("not_found", site, what).decode())


@pytest.fixture(scope="module")
def golden_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """The arguments of every page the golden site's build renders, by kind."""
    calls: dict[str, list[tuple]] = {"index": [], "tag": [], "article": []}
    real = (files.front_files, files.tag_page_file, files.article_page_file)

    def front(site, tags, all_feed, date):
        calls["index"].append((site, tuple(tags), all_feed))
        return real[0](site, tags, all_feed, date)

    def tag(site, feed, count):
        calls["tag"].append((site, feed, count))
        return real[1](site, feed, count)

    def article(site, entry):
        calls["article"].append((site, entry))
        return real[2](site, entry)

    with pytest.MonkeyPatch.context() as patch:
        for name, recording in (("front_files", front), ("tag_page_file", tag),
                                ("article_page_file", article)):
            patch.setattr(files, name, recording)
        build(tmp_path_factory.mktemp("golden"))
    return calls


def test_every_golden_page_is_the_reference(golden_pages) -> None:
    assert [len(golden_pages[kind]) > 0 for kind in ("index", "tag", "article")] == [True] * 3
    for site, tags, feed in golden_pages["index"]:
        assert_index(site, tags, feed)
        assert_not_found(site, "")
        assert_not_found(site, "/tags/gone/")
    for site, feed, count in golden_pages["tag"]:
        assert_tag_page(site, feed, count)
    for site, entry in golden_pages["article"]:
        assert_article(site, entry)


def variants(entry: Entry) -> list[Entry]:
    """The entry with each optional part of its list item there and not."""
    return [entry, replace(entry, author=None), replace(entry, summary=""),
            replace(entry, tags=()), replace(entry, author=None, summary="", tags=()),
            replace(entry, published=entry.published.astimezone(timezone(timedelta(
                hours=-9, minutes=-30))))]


@pytest.mark.parametrize("index", range(len(samples.sample_entries())))
def test_each_sample_entry_with_and_without_each_part_is_the_reference(index: int) -> None:
    site = samples.site()
    for entry in variants(samples.sample_entries()[index]):
        feed = samples.feed((entry,), slug="navy", title="Navy")
        assert_tag_page(site, feed)
        assert_tag_page(site, replace(feed, subtitle=""), 7)
        assert_index(site, samples.tag_summaries(), samples.feed((entry,)))
        assert_article(site, entry)


def test_empty_pages_and_a_site_without_an_author_are_the_reference() -> None:
    for site in (samples.site(), replace(samples.site(), author="")):
        assert_index(site, (), samples.feed(()))
        assert_index(site, (), replace(samples.feed(()), subtitle=""))
        assert_tag_page(site, samples.feed((), slug="transport", title="Transport"), 0)
        assert_not_found(site, "")


def test_an_entry_on_many_pages_is_the_reference_on_each() -> None:
    """Its list item is kept from the first page: the same, with and without summary."""
    site, entries = samples.site(), samples.sample_entries()
    for turn in range(3):
        for count in range(1, len(entries) + 1):
            assert_tag_page(site, samples.feed(entries[:count], slug=f"t{turn}"))
            assert_index(site, samples.tag_summaries(), samples.feed(entries[-count:]))


def test_an_entry_on_two_sites_lists_each_sites_tag_links() -> None:
    entry = samples.sample_entries()[0]
    other = replace(samples.site(), base_url="https://other.example.com")
    for site in (samples.site(), other, samples.site()):
        assert_tag_page(site, samples.feed((entry,), slug="navy"))


def test_hostile_text_in_every_field_is_the_reference() -> None:
    hostile = samples.HOSTILE + " \r\t\n&amp; 😀 {{ x }} {% raw %}"
    site = replace(samples.site(hostile), author=hostile, base_url=f"{samples.BASE}/{hostile}",
                   opml_url=hostile, all_links=samples.links(hostile))
    entry = replace(samples.hostile_entry(), title=hostile, summary=hostile, author=hostile,
                    url=hostile, tags=(TagRef(hostile, hostile), TagRef("", "e")))
    feed = replace(samples.feed((entry,), slug=hostile, title=hostile), subtitle=hostile)
    tag = replace(samples.tag_summary(hostile, 1, slug="h"), links=samples.links(hostile))
    assert_index(site, (tag,), feed)
    assert_tag_page(site, feed, 1)
    assert_article(site, entry)
    assert_not_found(site, hostile)


TAG_REFS = st.lists(st.builds(TagRef, TEXT, TEXT), max_size=4).map(tuple)
ENTRIES = st.builds(
    Entry, id=st.uuids().map(str), title=TEXT.filter(bool), url=TEXT, published=MOMENTS,
    updated=MOMENTS, tags=TAG_REFS, summary=TEXT, paragraphs=st.lists(TEXT, max_size=2).map(
        tuple), markup=st.just("text"), link=st.one_of(st.none(), TEXT),
    author=st.one_of(st.none(), TEXT))
SITES = st.builds(Site, title=TEXT, base_url=TEXT, author=TEXT,
                  all_links=TEXT.map(samples.links), opml_url=TEXT)
SUMMARIES = st.builds(TagSummary, name=TEXT, slug=TEXT, count=st.integers(0, 10**6),
                      updated=MOMENTS, links=TEXT.map(samples.links))


@SETTINGS
@given(SITES, st.lists(ENTRIES, max_size=3).map(tuple), TEXT, TEXT, MOMENTS,
       st.one_of(st.none(), st.integers(0, 10**6)), st.lists(SUMMARIES, max_size=3).map(tuple))
def test_hostile_pages_are_the_reference(site, items, title, subtitle, updated, count,
                                         tags) -> None:
    feed = replace(samples.feed(items, slug="s", title=title), subtitle=subtitle,
                   updated=updated, links=samples.links(title))
    assert_tag_page(site, feed, count)
    assert_index(site, tags, feed)
    for entry in items:
        assert_article(site, entry)
    assert_not_found(site, subtitle)


def test_a_tag_row_is_written_in_its_own_offset_even_for_an_equal_instant() -> None:
    """Equal datetimes are the same instant: a row kept for one must not stand for the
    other, which its offset writes otherwise (found by the hostile-pages test)."""
    from datetime import datetime

    from service.render import html

    at_utc = TagSummary("Harbour", "harbour", 1, datetime(2000, 1, 1, tzinfo=UTC),
                        samples.links("harbour"))
    a_minute_east = replace(at_utc, updated=datetime(
        2000, 1, 1, 0, 1, tzinfo=timezone(timedelta(minutes=1))))
    assert at_utc == a_minute_east
    assert ">1 Jan 2000, 00:00 UTC<" in html.tag_row(at_utc)
    assert ">1 Jan 2000, 00:01 UTC+00:01<" in html.tag_row(a_minute_east)
