"""The static site's HTML pages: pure functions from sitemodel data to UTF-8 bytes.

The only module that imports jinja2, on first use. The pages a build writes (the index,
the tag and article pages, the 404 page) are put together as strings by ``html``, which
escapes every value as the templates' autoescaping does; the one value not escaped is
an article body, which body_html has already made safe. The templates render the status
page, and stay the reference of the others: ``_reference`` renders a page with them,
and the tests hold the built pages to its bytes. Nothing here reads the clock, so the
same data gives the same bytes and the site writer can skip unchanged files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache, lru_cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.model import Entry, Feed, Site, TagRef, TagSummary
from service.render import html
from service.render.body import body_html
from service.render.chart import hub_chart, status_chart
from service.render.html import feed_formats, format_date

if TYPE_CHECKING:
    import jinja2

_SAFE_LINK_SCHEMES = ("http://", "https://")


def _iso(value: datetime) -> str:
    return value.isoformat()


def _tag_url(site: Site, tag: TagRef) -> str:
    return html.tag_page_url(site.base_url, tag.slug)


def _external_link(url: str | None) -> str | None:
    # The link comes from a seed file anyone may write: only web addresses become
    # hrefs, never javascript: or data: URLs.
    if url and url.strip().lower().startswith(_SAFE_LINK_SCHEMES):
        return url.strip()
    return None


def _page_title(site: Site, heading: str) -> str:
    # Feed titles may already name the site; don't say it twice in the tab.
    return heading if site.title in heading else f"{heading} · {site.title}"


@cache
def _environment() -> jinja2.Environment:
    """The templates' environment, made on first use: jinja2 costs 30 ms to import."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("service.render", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates ship with the package; a stat per render costs 10%
    )
    env.filters.update(date=format_date, iso=_iso, count=html.count, formats=feed_formats)
    env.globals.update(tag_url=_tag_url, tag_row=_tag_row)
    return env


def _tag_row(tag: TagSummary) -> str:
    """One row of the index's tag table, as safe markup: the macro ``tag_row``."""
    macros = _environment().get_template("macros.html").module
    return macros.tag_row(tag)  # type: ignore[attr-defined]  # a macro: known at run time


def _render(template: str, site: Site, **context: Any) -> bytes:
    page = _environment().get_template(template).render(
        site=site,
        home_url=f"{site.base_url}/",
        stylesheet_url=f"{site.base_url}/static/style.css",
        **context,
    )
    return page.encode("utf-8")


def render_index(site: Site, tags: Sequence[TagSummary], all_feed: Feed) -> bytes:
    """The home page: subscribe links for everything, the tag table, the newest articles."""
    return html.page(site, html.escape(site.title),
                     html.index_main(site, tags, all_feed)).encode()


def render_tag_page(site: Site, feed: Feed, count: int | None = None) -> bytes:
    """One tag's page: its feeds to subscribe to and its newest entries; ``count`` is
    how many articles the tag has in all (default: the entries shown)."""
    number = len(feed.entries) if count is None else count
    return html.page(site, html.escape(_page_title(site, feed.title)),
                     html.tag_main(site, feed, number),
                     f"{html.alternates(feed.title, feed.links)}\n").encode()


def render_article_page(site: Site, entry: Entry) -> bytes:
    """One article: headline, dates, author, tags, body and a link to its original.

    The hot path of a cold build (one page per article, 100,000 in a large site)."""
    # The title is escaped as the article is (html.escape), not as the templates would.
    return html.page(site, escape(_page_title(site, entry.title)),
                     f"{_article_main(site, entry)}\n").encode()


def render_not_found(site: Site, what: str) -> bytes:
    """The 404 page for the requested path ``what``, with ways back to the feeds."""
    return html.page(site, html.escape(_page_title(site, "Not found")),
                     html.not_found_main(site, what)).encode()


def _reference(page: str, site: Site, *values: Any) -> bytes:
    """A page as the templates render it, the bytes its ``render_*`` must give: "index"
    (tags, all feed), "tag" (feed, count), "article" (entry) or "not_found" (what)."""
    if page == "index":
        tags, feed = values
        return _render("index.html", site, title=site.title, tags=tuple(tags), feed=feed)
    if page == "tag":
        feed, count = values
        return _render("tag.html", site, title=_page_title(site, feed.title), feed=feed,
                       count=len(feed.entries) if count is None else count)
    if page == "article":
        (entry,) = values
        page_title = escape(_page_title(site, entry.title))
        return _render("layout.html", site, title=_TITLE_MARK, main=_article_main(
            site, entry)).replace(_TITLE_MARK.encode(), page_title.encode())
    (what,) = values
    return _render("not_found.html", site, title=_page_title(site, "Not found"), what=what)


_TITLE_MARK = "\x00title\x00"


def _article_main(site: Site, entry: Entry) -> str:
    meta = [_time("Published", entry.published)]
    if entry.updated != entry.published:
        meta.append(_time("Updated", entry.updated))
    if entry.author:
        meta.append(f"<span>By {escape(entry.author)}</span>")
    tags = ""
    if entry.tags:
        chips = "".join([_tag_chip(site.base_url, tag) for tag in entry.tags])
        tags = f'    <ul class="tag-chips">\n{chips}    </ul>\n'
    original = _external_link(entry.link)
    source = (f'    <p><a class="button" href="{escape(original)}" rel="external noreferrer">'
              "Read the original</a></p>\n") if original else ""
    # body_html escaped and sanitised the body: the one value not escaped here.
    return (f'<article class="article">\n  <header class="article__header">\n'
            f"    <h1>{escape(entry.title)}</h1>\n"
            f'    <p class="article__meta">{"".join(meta)}</p>\n{tags}  </header>\n'
            f'  <div class="article__body">\n{body_html(entry)}  </div>\n'
            f'  <footer class="article__footer">\n{source}'
            f'    <p><a href="{escape(site.base_url)}/">← Back to all articles and tags</a></p>\n'
            f"  </footer>\n</article>")


@lru_cache(maxsize=65536)
def _tag_chip(base_url: str, tag: TagRef) -> str:
    """A tag's link on an article page: a site has a few hundred tags and 100,000 pages."""
    return (f'      <li><a class="tag-chip" href="{escape(html.tag_page_url(base_url, tag.slug))}">'
            f"{escape(tag.name)}</a></li>\n")


def _time(label: str, value: datetime) -> str:
    return (f'<span>{label} <time datetime="{value.isoformat()}">'
            f"{format_date(value)}</time></span>")


def stylesheet() -> bytes:
    """The site's one stylesheet, to be served at ``{base_url}/static/style.css``."""
    return static("style.css")


def static(name: str) -> bytes:
    """A file of the site's own, as shipped in the package's static/ folder."""
    # Beside this module, as the package is installed: importlib.resources would cost a
    # build 9 ms of imports for the same bytes.
    return (_STATIC / name).read_bytes()


_STATIC = Path(__file__).with_name("static")


def _parse_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def render_status_page(site: Site, status: dict[str, Any]) -> bytes:
    """The /status page for people: counts, per-file errors, and a chart of recent passes.

    ``status`` is the web's /status JSON; the chart needs no script and no inline style."""
    last = status.get("last_publish") or {}
    history = status.get("history") or []
    hub = status.get("websub")
    return _render("status.html", site, title=_page_title(site, "Status"), status=status,
                   last=last, started=_parse_time(last.get("started")),
                   next_release=_parse_time(status.get("next_release")),
                   chart=status_chart(history) if history else None,
                   hub=hub, hub_chart=hub_chart(hub["minutes"]) if hub and hub["minutes"]
                   else None, warnings_shown=STATUS_WARNINGS_SHOWN)


STATUS_WARNINGS_SHOWN = 100  # a large site may have thousands; the JSON has them all
