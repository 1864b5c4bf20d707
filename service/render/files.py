"""Every published file's bytes, by path: what each kind of render job writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from service import layout
from service.model import Entry, Feed, Site, TagSummary
from service.render.atom_rss import render_atom_and_rss
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


@lru_cache(maxsize=4)
def _fixtures(site: Site) -> dict[str, bytes]:
    """The 404 page, the stylesheet and the icons: the same for every pass of a site."""
    return {layout.NOT_FOUND: render_not_found(site, ""), layout.STYLESHEET: stylesheet(),
            layout.FAVICON: static("favicon.ico"), layout.ICON: static("icon.png")}
