"""The HTML pages: well-formed, escaped, CSP-safe, deterministic, and linking every feed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser

import lxml.html
import pytest
from lxml import etree

from service.model import TagRef
from service.render import pages

from support import samples
from support.samples import BASE, HOSTILE

# Elements that never have an end tag (WHATWG "void elements").
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


# The index's tags: one of them with a single article and one with a Chinese name.
TAGS = (samples.tag_summary("Harbour", 12), samples.tag_summary("Transport", 1),
        samples.tag_summary("港口", 3))


def index_page() -> bytes:
    entries = (samples.entry(), samples.entry("Night market returns"))
    return pages.render_index(samples.site(), TAGS, samples.feed(entries))


def tag_page() -> bytes:
    return pages.render_tag_page(samples.site(),
                                 samples.feed((samples.entry(),), slug="harbour", title="Harbour"))


def empty_tag_page() -> bytes:
    return pages.render_tag_page(samples.site(),
                                 samples.feed((), slug="transport", title="Transport"))


def article_page() -> bytes:
    return pages.render_article_page(samples.site(), samples.entry())


def not_found_page() -> bytes:
    return pages.render_not_found(samples.site(), "/tags/nothing-here/")


def hostile_index() -> bytes:
    site = samples.site(HOSTILE)
    tag = samples.tag_summary(HOSTILE, slug="hostile")
    return pages.render_index(site, (tag,),
                              samples.feed((samples.hostile_entry(),), title=HOSTILE))


def hostile_tag_page() -> bytes:
    return pages.render_tag_page(samples.site(HOSTILE),
                                 samples.feed((samples.hostile_entry(),), slug="hostile",
                                              title=HOSTILE))


def hostile_article() -> bytes:
    return pages.render_article_page(samples.site(HOSTILE), samples.hostile_entry())


def hostile_not_found() -> bytes:
    return pages.render_not_found(samples.site(HOSTILE), HOSTILE)


PAGES: dict[str, Callable[[], bytes]] = {
    "index": index_page, "tag": tag_page, "empty tag": empty_tag_page,
    "article": article_page, "not found": not_found_page,
}
HOSTILE_PAGES: dict[str, Callable[[], bytes]] = {
    "index": hostile_index, "tag": hostile_tag_page, "article": hostile_article,
    "not found": hostile_not_found,
}

every_page = pytest.mark.parametrize("render", PAGES.values(), ids=PAGES.keys())
every_hostile_page = pytest.mark.parametrize("render", HOSTILE_PAGES.values(),
                                             ids=HOSTILE_PAGES.keys())


def parse(page: bytes) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(page)


class _Nesting(HTMLParser):
    """Records every end tag that does not close the element opened last."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.problems.append(f"<{tag}> repeats an attribute")
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def nesting_problems(page: bytes) -> list[str]:
    checker = _Nesting()
    checker.feed(page.decode("utf-8"))
    checker.close()
    return checker.problems + [f"<{tag}> never closed" for tag in checker.open]


def alternates(page: bytes) -> set[tuple[str, str]]:
    return {(link.get("type"), link.get("href"))
            for link in parse(page).head.findall("link[@rel='alternate']")}


def hrefs(page: bytes) -> set[str]:
    return {element.get("href") for element in parse(page).iter("a")}


def copyable_urls(page: bytes) -> set[str]:
    return {field.get("value") for field in parse(page).iter("input")
            if field.get("readonly") is not None}


def visible_text(page: bytes) -> str:
    return " ".join(parse(page).body.text_content().split())


# Well-formed and CSP-safe


@every_page
def test_every_page_parses_without_html_errors(render: Callable[[], bytes]) -> None:
    parser = etree.HTMLParser()
    etree.fromstring(render(), parser)
    assert [entry.message for entry in parser.error_log] == []


@every_page
def test_every_page_closes_each_element_it_opens_in_order(render: Callable[[], bytes]) -> None:
    assert nesting_problems(render()) == []


@every_page
def test_every_page_starts_with_a_doctype_and_declares_english_utf8(
        render: Callable[[], bytes]) -> None:
    page = render()
    head = parse(page).head
    assert page.startswith(b"<!doctype html>\n<html lang=\"en\">")
    assert head[0].tag == "meta" and head[0].get("charset") == "utf-8"
    assert head.find("meta[@name='viewport']") is not None


@every_page
def test_every_page_has_a_title_and_one_heading(render: Callable[[], bytes]) -> None:
    document = parse(render())
    assert document.find(".//title").text_content().strip()
    assert len(document.findall(".//h1")) == 1


@every_page
def test_every_page_uses_each_id_once_and_labels_real_fields(render: Callable[[], bytes]) -> None:
    document = parse(render())
    ids = Counter(element.get("id") for element in document.iter() if element.get("id"))
    assert [name for name, seen in ids.items() if seen > 1] == []
    assert {label.get("for") for label in document.iter("label")} <= set(ids)


@every_page
def test_every_page_has_no_inline_style_script_or_handler(render: Callable[[], bytes]) -> None:
    document = parse(render())
    assert document.findall(".//script") == [] and document.findall(".//style") == []
    for element in document.iter(etree.Element):
        assert [name for name in element.attrib
                if name == "style" or name.startswith("on")] == [], element.tag


@every_page
def test_every_page_links_the_one_stylesheet_under_static(render: Callable[[], bytes]) -> None:
    sheets = parse(render()).head.findall("link[@rel='stylesheet']")
    assert [sheet.get("href") for sheet in sheets] == [f"{BASE}/static/style.css"]


@every_page
def test_every_page_loads_nothing_from_another_host(render: Callable[[], bytes]) -> None:
    document = parse(render())
    loaded = [element.get("href") for element in document.iter("link")]
    loaded += [element.get("src") for element in document.iter() if element.get("src")]
    assert all(url.startswith(BASE) for url in loaded)


@every_page
def test_every_page_renders_to_identical_bytes_twice(render: Callable[[], bytes]) -> None:
    assert render() == render()


# Escaping


@every_hostile_page
def test_hostile_text_never_reaches_the_page_as_markup(render: Callable[[], bytes]) -> None:
    page = render()
    assert b"<script" not in page
    assert parse(page).findall(".//script") == []


@every_hostile_page
def test_hostile_text_is_shown_exactly_as_written(render: Callable[[], bytes]) -> None:
    assert HOSTILE in visible_text(render())


def test_hostile_text_in_attributes_stays_inside_them() -> None:
    titles = {link.get("title") for link in parse(hostile_tag_page()).head.iter("link")}
    assert f"{HOSTILE} (Atom)" in titles


# Index


def test_index_head_announces_the_all_feed_in_atom_rss_and_json() -> None:
    assert {("application/atom+xml", f"{BASE}/all.atom"),
            ("application/rss+xml", f"{BASE}/all.rss"),
            ("application/feed+json", f"{BASE}/all.json")} <= alternates(index_page())


def test_index_head_announces_the_opml_list_of_all_tags() -> None:
    assert ("text/x-opml", f"{BASE}/subscriptions.opml") in alternates(index_page())


def test_index_offers_every_all_feed_address_and_the_opml_to_copy() -> None:
    assert copyable_urls(index_page()) == {f"{BASE}/all.atom", f"{BASE}/all.rss",
                                           f"{BASE}/all.json", f"{BASE}/subscriptions.opml"}


def test_index_lists_every_tag_with_its_article_count() -> None:
    rows = parse(index_page()).findall(".//table[@class='tag-table']/tbody/tr")
    shown = {row[0].text_content(): row[1].text_content() for row in rows}
    assert shown == {"Harbour": "12 articles", "Transport": "1 article", "港口": "3 articles"}


@pytest.mark.parametrize("slug", ["harbour", "transport", "港口"])
def test_index_links_each_tag_to_its_page_and_its_three_feeds(slug: str) -> None:
    stem = f"{BASE}/tags/{slug}"
    assert {f"{stem}/", f"{stem}.atom", f"{stem}.rss", f"{stem}.json"} <= hrefs(index_page())


def test_index_shows_when_each_tag_was_last_updated() -> None:
    assert visible_text(index_page()).count("14 Apr 2024, 03:24 UTC") >= 3


def test_index_links_the_newest_articles_to_their_pages() -> None:
    links = hrefs(index_page())
    assert {samples.entry().url, samples.entry("Night market returns").url} <= links


def test_index_without_tags_or_articles_says_so() -> None:
    page = pages.render_index(samples.site(), (), samples.feed(()))
    assert "No tags yet" in visible_text(page)
    assert "No articles right now" in visible_text(page)


# Tag page


def test_tag_page_head_announces_that_tags_three_feeds() -> None:
    stem = f"{BASE}/tags/harbour"
    assert alternates(tag_page()) == {("application/atom+xml", f"{stem}.atom"),
                                      ("application/rss+xml", f"{stem}.rss"),
                                      ("application/feed+json", f"{stem}.json")}


def test_tag_page_offers_its_feed_addresses_to_copy() -> None:
    stem = f"{BASE}/tags/harbour"
    assert copyable_urls(tag_page()) == {f"{stem}.atom", f"{stem}.rss", f"{stem}.json"}


def test_tag_page_lists_each_entry_with_link_date_and_summary() -> None:
    page = tag_page()
    text = visible_text(page)
    assert samples.entry().url in hrefs(page)
    assert "14 Apr 2024, 03:24 UTC" in text
    assert samples.entry().summary in text


def test_tag_page_links_each_entry_tag_to_its_tag_page() -> None:
    assert {f"{BASE}/tags/harbour/", f"{BASE}/tags/transport/"} <= hrefs(tag_page())


def test_tag_page_shows_its_name_and_count() -> None:
    text = visible_text(tag_page())
    assert "Harbour" in text and "1 article" in text


def test_empty_tag_page_says_there_are_no_articles_right_now() -> None:
    assert "No articles right now" in visible_text(empty_tag_page())


def test_empty_tag_page_still_links_its_feeds() -> None:
    stem = f"{BASE}/tags/transport"
    feeds = {f"{stem}.atom", f"{stem}.rss", f"{stem}.json"}
    assert feeds <= hrefs(empty_tag_page())
    assert {href for _, href in alternates(empty_tag_page())} == feeds


# Article page


def test_article_page_shows_each_body_paragraph() -> None:
    paragraphs = [p.text_content() for p in parse(article_page()).find_class("article__body")[0]]
    assert paragraphs == list(samples.entry().paragraphs)


def test_article_page_renders_a_markdown_body() -> None:
    entry = samples.entry(markup="markdown", paragraphs=("Ferries run **daily**.",))
    body = parse(pages.render_article_page(samples.site(), entry)).find_class("article__body")[0]
    assert body.find(".//strong").text == "daily"


def test_article_page_links_its_tags_to_their_pages() -> None:
    assert {f"{BASE}/tags/harbour/", f"{BASE}/tags/transport/"} <= hrefs(article_page())


def test_article_page_shows_headline_published_date_and_author() -> None:
    text = visible_text(article_page())
    assert samples.entry().title in text
    assert "Published 14 Apr 2024, 03:24 UTC" in text
    assert "By Mei Lin" in text


def test_article_page_omits_updated_when_it_equals_published() -> None:
    assert "Updated" not in visible_text(article_page())


def test_article_page_shows_updated_when_it_differs() -> None:
    entry = samples.entry(updated=samples.PUBLISHED + timedelta(hours=6))
    text = visible_text(pages.render_article_page(samples.site(), entry))
    assert "Updated 14 Apr 2024, 09:24 UTC" in text


def test_article_page_without_author_or_tags_omits_them() -> None:
    entry = samples.entry(author=None, tags=())
    page = pages.render_article_page(samples.site(), entry)
    assert "By " not in visible_text(page)
    assert parse(page).find_class("tag-chips") == []


def test_article_page_links_the_original_and_the_index() -> None:
    assert {"https://example.org/ferry", f"{BASE}/"} <= hrefs(article_page())


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,x", None])
def test_article_page_offers_no_original_link_unless_it_is_a_web_address(
        link: str | None) -> None:
    page = pages.render_article_page(samples.site(), samples.entry(link=link))
    assert "Read the original" not in visible_text(page)


def test_article_page_tag_link_is_built_from_the_tag_slug() -> None:
    entry = samples.entry(tags=(TagRef("Chinese Fleet", "chinese-fleet"),))
    page = pages.render_article_page(samples.site(), entry)
    assert f"{BASE}/tags/chinese-fleet/" in hrefs(page)


# Not found page


def test_not_found_page_shows_the_requested_path_escaped() -> None:
    page = pages.render_not_found(samples.site(), "/tags/<b>x</b>&y/")
    assert b"<b>x" not in page
    assert b"/tags/&lt;b&gt;x&lt;/b&gt;&amp;y/" in page


def test_not_found_page_links_the_index_and_the_opml() -> None:
    assert {f"{BASE}/", f"{BASE}/subscriptions.opml"} <= hrefs(not_found_page())


def test_not_found_page_explains_what_is_missing() -> None:
    assert "no tag or article at /tags/nothing-here/" in visible_text(not_found_page())


# Dates and the stylesheet


@pytest.mark.parametrize(("value", "shown"), [
    (datetime(2024, 4, 14, 3, 24, tzinfo=UTC), "14 Apr 2024, 03:24 UTC"),
    (datetime(2024, 4, 14, 11, 24, tzinfo=samples.SHANGHAI), "14 Apr 2024, 11:24 UTC+08:00"),
    (datetime(2023, 12, 1, 0, 5, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
     "1 Dec 2023, 00:05 UTC-03:30"),
])
def test_dates_are_shown_in_their_own_offset(value: datetime, shown: str) -> None:
    assert pages.format_date(value) == shown


def test_naive_dates_are_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        pages.format_date(datetime(2024, 4, 14, 3, 24))


def test_stylesheet_is_the_packaged_css_with_dark_mode_and_no_external_resources() -> None:
    css = pages.stylesheet().decode("utf-8")
    assert "prefers-color-scheme: dark" in css
    assert "@import" not in css and "url(" not in css
