"""OPML renderer: OPML 2.0 listing the all feed and every tag feed, well-formed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from lxml import etree

from service.model import TagSummary
from service.render.opml import render_opml

from support import samples

DATE = datetime(2024, 4, 17, 8, 0, tzinfo=UTC)


def outlines(tags: Sequence[TagSummary] = ()) -> list[etree._Element]:
    """The subscriptions, in order: every outline with a feed, at any depth."""
    root = etree.fromstring(render_opml(samples.site(), tags, DATE))
    return root.findall("body//outline[@xmlUrl]")


def test_the_tags_are_grouped_in_one_outline_so_an_import_makes_one_folder() -> None:
    tags = samples.tag_summaries()
    body = etree.fromstring(render_opml(samples.site(), tags, DATE)).find("body")
    top = body.findall("outline")
    assert [outline.get("xmlUrl") for outline in top] == [samples.site().all_links.atom, None]
    assert top[1].get("text") == top[1].get("title") == "Seed News — tags"
    assert [outline.get("text") for outline in top[1]] == [tag.name for tag in tags]


def test_document_is_opml_2_0() -> None:
    root = etree.fromstring(render_opml(samples.site(), samples.tag_summaries(), DATE))
    assert (root.tag, root.get("version")) == ("opml", "2.0")


def test_all_feed_comes_first_then_one_outline_per_tag_in_order() -> None:
    tags = samples.tag_summaries()
    texts = [outline.get("text") for outline in outlines(tags)]
    assert texts == ["Seed News — all articles", *(tag.name for tag in tags)]


def test_titles_equal_texts_for_markup_characters_and_chinese() -> None:
    listed = outlines(samples.tag_summaries())
    assert [outline.get("title") for outline in listed] == [
        outline.get("text") for outline in listed]
    assert {samples.AWKWARD, "海军"} <= {outline.get("text") for outline in listed}


def test_xml_urls_are_the_atom_feeds_and_html_urls_the_pages() -> None:
    site, tags = samples.site(), samples.tag_summaries()
    links = [site.all_links, *(tag.links for tag in tags)]
    assert [(outline.get("xmlUrl"), outline.get("htmlUrl")) for outline in outlines(tags)] == [
        (link.atom, link.page) for link in links]


def test_every_outline_is_an_rss_type_subscription() -> None:
    assert {outline.get("type") for outline in outlines(samples.tag_summaries())} == {"rss"}


def test_head_names_the_site_owner_date_and_spec() -> None:
    root = etree.fromstring(render_opml(samples.site(), samples.tag_summaries(), DATE))
    head = root.find("head")
    assert (head.findtext("title"), head.findtext("ownerName"), head.findtext("docs")) == (
        "Seed News", "The Seed Desk", "http://opml.org/spec2.opml")
    for field in ("dateCreated", "dateModified"):
        assert parsedate_to_datetime(head.findtext(field)) == DATE


def test_no_tags_lists_only_the_all_feed() -> None:
    body = etree.fromstring(render_opml(samples.site(), (), DATE)).find("body")
    assert [outline.get("xmlUrl") for outline in body.iter("outline")] == [
        samples.site().all_links.atom]


def test_rendering_twice_gives_identical_bytes() -> None:
    def render() -> bytes:
        return render_opml(samples.site(), samples.tag_summaries(), DATE)

    assert render() == render()
