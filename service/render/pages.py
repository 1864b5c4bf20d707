"""The static site's HTML pages: pure functions from sitemodel data to UTF-8 bytes.

The only module that imports jinja2. Every value reaches the templates through
autoescaping; the one exception is an article body, which body_html has already
made safe. Nothing here reads the clock, so the same data gives the same bytes and
the site writer can skip unchanged files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from html import escape
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

from service.layout import feed_links
from service.model import Entry, Feed, FeedLinks, Site, TagRef, TagSummary
from service.render.body import body_html
from service.render.chart import hub_chart, status_chart

# Not strftime("%b"): its result depends on the process locale, which feedgen
# switches while it renders RSS.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_SAFE_LINK_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class FeedFormat:
    """One way to subscribe to a feed: its badge label, media type and address."""

    key: str
    label: str
    media_type: str
    url: str


# One row per format, so templates loop instead of repeating three blocks.
_FORMATS = (
    ("atom", "Atom", "application/atom+xml"),
    ("rss", "RSS", "application/rss+xml"),
    ("json", "JSON", "application/feed+json"),
)


def feed_formats(links: FeedLinks) -> tuple[FeedFormat, ...]:
    """The Atom, RSS and JSON Feed addresses of ``links``, in that order."""
    return tuple(FeedFormat(key, label, media_type, getattr(links, key))
                 for key, label, media_type in _FORMATS)


def format_date(value: datetime) -> str:
    """'14 Apr 2024, 03:24 UTC': day, month, year and time in the value's own offset."""
    return (f"{value.day} {_MONTHS[value.month - 1]} {value.year}, "
            f"{value.hour:02d}:{value.minute:02d} {_offset_label(value)}")


def _offset_label(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        # sitemodel promises aware datetimes; guessing a zone would print a wrong time.
        raise ValueError(f"naive datetime {value.isoformat()} cannot be shown with a zone")
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours:02d}:{rest:02d}"


def _iso(value: datetime) -> str:
    return value.isoformat()


def _count(number: int) -> str:
    return f"{number} article" if number == 1 else f"{number} articles"


def _tag_url(site: Site, tag: TagRef) -> str:
    return _tag_page_url(site.base_url, tag.slug)


@lru_cache(maxsize=65536)
def _tag_page_url(base_url: str, slug: str) -> str:
    return feed_links(base_url, slug).page


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
    env.filters.update(date=format_date, iso=_iso, count=_count, formats=feed_formats)
    env.globals.update(tag_url=_tag_url, tag_row=_tag_row)
    return env


@lru_cache(maxsize=4096)
def _tag_row(tag: TagSummary) -> str:
    """One row of the index's tag table, as safe markup. Cached: each pass renders the
    index again, yet changes one or two of a large site's hundreds of rows, and a row
    costs 50 µs (a third of a publish pass, uncached, on 200 tags)."""
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
    return _render("index.html", site, title=site.title, tags=tuple(tags), feed=all_feed)


def render_tag_page(site: Site, feed: Feed, count: int | None = None) -> bytes:
    """One tag's page: its feeds to subscribe to and its newest entries; ``count`` is
    how many articles the tag has in all (default: the entries shown)."""
    return _render("tag.html", site, title=_page_title(site, feed.title), feed=feed,
                   count=len(feed.entries) if count is None else count)


def render_article_page(site: Site, entry: Entry) -> bytes:
    """One article: headline, dates, author, tags, body and a link to its original.

    The hot path of a cold build (one page per article, 100,000 in a large site):
    the layout is rendered once per site by Jinja, the article itself by plain
    code that escapes every value, at a quarter of a template's cost."""
    before_title, before_main, after_main = _layout(site)
    title = escape(_page_title(site, entry.title))
    main = _article_main(site, entry)
    return f"{before_title}{title}{before_main}{main}{after_main}".encode()


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
    return (f'      <li><a class="tag-chip" href="{escape(_tag_page_url(base_url, tag.slug))}">'
            f"{escape(tag.name)}</a></li>\n")


def _time(label: str, value: datetime) -> str:
    return (f'<span>{label} <time datetime="{value.isoformat()}">'
            f"{format_date(value)}</time></span>")


_TITLE_MARK, _MAIN_MARK = "\x00title\x00", "\x00main\x00"


@lru_cache(maxsize=4)
def _layout(site: Site) -> tuple[str, str, str]:
    """The page layout around an article, rendered once per site and cut at the
    title and the main block: 100,000 article pages then cost one small template each."""
    page = _environment().get_template("layout.html").render(
        site=site, home_url=f"{site.base_url}/",
        stylesheet_url=f"{site.base_url}/static/style.css",
        title=_TITLE_MARK, main=_MAIN_MARK)
    before_title, rest = page.split(_TITLE_MARK)
    before_main, after_main = rest.split(_MAIN_MARK)
    return before_title, before_main, after_main


def render_not_found(site: Site, what: str) -> bytes:
    """The 404 page for the requested path ``what``, with ways back to the feeds."""
    return _render("not_found.html", site, title=_page_title(site, "Not found"), what=what)


def stylesheet() -> bytes:
    """The site's one stylesheet, to be served at ``{base_url}/static/style.css``."""
    return static("style.css")


def static(name: str) -> bytes:
    """A file of the site's own, as shipped in the package's static/ folder."""
    return resources.files("service.render").joinpath("static", name).read_bytes()


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
