"""Every published file's bytes, by path: what each kind of render job writes."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import lru_cache

from service import layout
from service.model import Entry, Feed, Site, TagSummary
from service.render import html, sitemap
from service.render.atom_rss import render_atom_and_rss
from service.render.entries import ENTRIES as KEPT
from service.render.entries import forget, keep
from service.render.jsonfeed import render_json
from service.render.opml import render_opml
from service.render.pages import (
    render_article_page,
    render_index,
    render_not_found,
    render_tag_page,
    static,
    stylesheet,
)


def keep_entries(count: int = KEPT) -> None:
    """How many entries' rendered parts to keep: a cold build keeps more while its
    workers render the archives, where an entry of a rare tag comes round again long
    after its first render."""
    keep(count)


def forget_entries(but: Collection[str]) -> None:
    """Let go of the rendered parts of every entry but those of ``but`` (ids): after a
    pass, those its feeds list are all the next pass is likely to render again."""
    forget(but)
    html.forget(but)


def feed_files(feed: Feed) -> dict[str, bytes]:
    """A feed in every format (Atom and RSS from one generator, filled once)."""
    atom, rss = render_atom_and_rss(feed)
    data = {"atom": atom, "rss": rss, "json": render_json(feed)}
    return {layout.feed_file(feed.slug, fmt): data[fmt] for fmt in layout.FORMATS}


def archive_files(feed: Feed, number: int) -> dict[str, bytes]:
    """A feed's archive document ``number`` in every format."""
    atom, rss = render_atom_and_rss(feed)
    data = {"atom": atom, "rss": rss, "json": render_json(feed)}
    return {layout.archive_file(feed.slug, number, fmt): data[fmt] for fmt in layout.FORMATS}


def tag_page_file(site: Site, feed: Feed, count: int) -> dict[str, bytes]:
    assert feed.slug is not None
    return {layout.tag_page_file(feed.slug): render_tag_page(site, feed, count)}


def article_page_file(site: Site, entry: Entry) -> dict[str, bytes]:
    return {layout.article_file(entry.id): render_article_page(site, entry)}


def front_files(site: Site, tags: Sequence[TagSummary], all_feed: Feed,
                date: datetime) -> dict[str, bytes]:
    """The files that list everything: index page, OPML, the all feed, and the fixtures."""
    return {
        **feed_files(all_feed),
        layout.INDEX: render_index(site, tags, all_feed),
        layout.OPML: render_opml(site, tags, date),
        **_fixtures(site),
    }


# A sitemap's bytes besides its rows: a part holds at most its limit less these.
SITEMAP_OVERHEAD = len(sitemap.URLSET_HEAD) + len(sitemap.URLSET_TAIL)


def sitemap_lastmod(updated: datetime) -> str:
    """A sitemap's date: all of one length, so the newest of many is the greatest."""
    return sitemap.w3c(updated)


def sitemap_row(loc: str, lastmod: str | None) -> bytes:
    """A page's row of a sitemap (``lastmod`` from ``sitemap_lastmod``; None: unknown)."""
    return sitemap.url_row(loc, lastmod)


def article_sitemap_rows(base_url: str, pages: Iterable[tuple[str, datetime]]) -> list[bytes]:
    """The rows of articles (id, updated): ``sitemap_row`` of each, faster."""
    return sitemap.url_rows(layout.article_url(base_url, ""), pages)


def sitemap_file(rows: list[bytes]) -> dict[str, bytes]:
    """The sitemap of a site small enough for one file."""
    return {layout.SITEMAP: sitemap.urlset(rows)}


def sitemap_part_file(number: int, rows: list[bytes]) -> dict[str, bytes]:
    return {layout.sitemap_part_file(number): sitemap.urlset(rows)}


def sitemap_index_file(base_url: str,
                       parts: Iterable[tuple[int, str | None]]) -> dict[str, bytes]:
    """The sitemap of a large site: an index of its parts (number, newest lastmod)."""
    return {layout.SITEMAP: sitemap.sitemap_index(
        (f"{base_url}/{layout.sitemap_part_file(number)}", lastmod)
        for number, lastmod in parts)}


def news_row(site: Site, language: str, entry: Entry) -> bytes:
    """An article's row of the news sitemap, kept by the publisher while it is listed."""
    return sitemap.news_row(site.title, language, entry)


def news_sitemap_file(rows: list[bytes]) -> dict[str, bytes]:
    return {layout.NEWS_SITEMAP: sitemap.news_sitemap(rows)}


def robots_file(base_url: str) -> dict[str, bytes]:
    """robots.txt, naming both sitemaps by their absolute URLs."""
    return {layout.ROBOTS: sitemap.robots(
        (f"{base_url}/{layout.SITEMAP}", f"{base_url}/{layout.NEWS_SITEMAP}"))}


@lru_cache(maxsize=4)
def _fixtures(site: Site) -> dict[str, bytes]:
    """The 404 page, the stylesheet and the icons: the same for every pass of a site."""
    return {layout.NOT_FOUND: render_not_found(site, ""), layout.STYLESHEET: stylesheet(),
            layout.FAVICON: static("favicon.ico"), layout.ICON: static("icon.png")}
