"""The static site's pages as plain strings: what the Jinja templates render, byte for byte.

A cold build writes a page per tag and per article and the index; through Jinja's
macros a tag page of 50 entries cost 1.9 ms (0.2 ms here), and loading Jinja and
compiling its templates 60 ms more at start-up. Here every value is escaped exactly as Jinja's
autoescape escapes it (``escape``), and each entry's list item is kept for the next
page that lists it (an entry is on each of its tags' pages and on the index). The
templates stay the reference: the tests render every page both ways
(``pages._reference``) and compare the bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from service.layout import feed_links
from service.model import Entry, Feed, FeedLinks, Site, TagRef, TagSummary
from service.render.kept import Kept

# Not strftime("%b"): its result depends on the process locale, which feedgen
# switches while it renders RSS.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def escape(value: object) -> str:
    """``value`` as Jinja's autoescape writes it (markupsafe: & < > ' and ")."""
    return (str(value).replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


@dataclass(frozen=True)
class FeedFormat:
    """One way to subscribe to a feed: its badge label, media type and address."""

    key: str
    label: str
    media_type: str
    url: str


# One row per format, so the pages loop instead of repeating three blocks.
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


def count(number: int) -> str:
    return f"{number} article" if number == 1 else f"{number} articles"


@lru_cache(maxsize=65536)
def tag_page_url(base_url: str, slug: str) -> str:
    return feed_links(base_url, slug).page


def page(site: Site, title: str, main: str, alternates: str | None = None) -> str:
    """A whole page (base.html): ``title`` and ``main`` already markup, ``alternates``
    the head's feed links (default: the site's)."""
    before, after = _frame(site)
    head = _site_alternates(site) if alternates is None else alternates
    return f"{before[0]}{title}{before[1]}{head}{before[2]}{main}{after}"


@lru_cache(maxsize=4)
def _frame(site: Site) -> tuple[tuple[str, str, str], str]:
    """base.html around the title, the alternates and the main block, once per site."""
    e, home = escape, escape(f"{site.base_url}/")
    top = ('<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
           '<meta name="color-scheme" content="light dark">\n<title>')
    links = (f'</title>\n<link rel="stylesheet" href="{e(site.base_url)}/static/style.css">\n'
             f'<link rel="icon" href="{e(site.base_url)}/favicon.ico" sizes="64x64">\n')
    header = (f'</head>\n<body>\n<a class="skip-link" href="#main">Skip to content</a>\n'
              f'<header class="site-header">\n  <div class="wrap site-header__inner">\n'
              f'    <a class="site-title" href="{home}">{e(site.title)}</a>\n'
              f'    <nav class="site-nav" aria-label="Site">\n'
              f'      <a href="{home}#tags">Tags</a>\n'
              f'      <a href="{home}#latest">Latest</a>\n'
              f'      <a href="{e(site.opml_url)}">OPML</a>\n    </nav>\n  </div>\n'
              f'</header>\n<main id="main" class="wrap">\n')
    author = f" · published by {e(site.author)}" if site.author else ""
    every = site.all_links
    footer = (f'</main>\n<footer class="site-footer">\n  <div class="wrap">\n'
              f"    <p>{e(site.title)}{author}. Follow along in any feed reader: "
              f'<a href="{e(every.atom)}">Atom</a>, <a href="{e(every.rss)}">RSS</a>, '
              f'<a href="{e(every.json)}">JSON Feed</a>, or every tag at once with '
              f'<a href="{e(site.opml_url)}">OPML</a>.</p>\n  </div>\n</footer>\n'
              "</body>\n</html>")
    return (top, links, header), footer


@lru_cache(maxsize=4)
def _site_alternates(site: Site) -> str:
    return (f"{alternates(site.title, site.all_links)}\n"
            f'<link rel="alternate" type="text/x-opml" title="{escape(site.title)}: all tags '
            f'(OPML)" href="{escape(site.opml_url)}">\n')


def alternates(name: str, links: FeedLinks) -> str:
    """The macro ``alternates``: a feed's formats as the head's rel="alternate" links."""
    return "".join(f'<link rel="alternate" type="{f.media_type}" title="{escape(name)} '
                   f'({f.label})" href="{escape(f.url)}">\n' for f in feed_formats(links))


def badges(name: str, links: FeedLinks) -> str:
    """The macro ``badges``: a feed's formats as links."""
    items = "".join(f'  <a class="badge badge--{f.key}" href="{escape(f.url)}">{f.label}'
                    f'<span class="visually-hidden"> feed of {escape(name)}</span></a>\n'
                    for f in feed_formats(links))
    return f'<span class="badges">\n{items}</span>\n'


def tag_row(tag: TagSummary) -> str:
    """The macro ``tag_row``: one row of the index's tag table. Cached: each pass
    renders the index again, yet changes one or two of a large site's hundreds of rows;
    by the tag and its date's offset (equal datetimes are the same instant, which
    another offset writes otherwise)."""
    return _tag_row(tag, tag.updated.utcoffset())


@lru_cache(maxsize=4096)
def _tag_row(tag: TagSummary, offset: timedelta | None) -> str:
    unit = "article" if tag.count == 1 else "articles"
    when = escape(tag.updated.isoformat())
    return (f'      <tr>\n        <th scope="row" class="tag-table__name">'
            f'<a href="{escape(tag.links.page)}">{escape(tag.name)}</a></th>\n'
            f'        <td class="num tag-table__count">{tag.count}<span class="tag-table__unit"> '
            f"{unit}</span></td>\n"
            f'        <td class="tag-table__updated"><time datetime="{when}">'
            f"{escape(format_date(tag.updated))}</time></td>\n"
            f'        <td class="tag-table__formats">{badges(tag.name, tag.links)}</td>\n'
            "      </tr>")


def subscribe(prefix: str, links: FeedLinks, opml_url: str | None = None) -> str:
    """The macro ``subscribe``: an address box per format (and the OPML list's)."""
    boxes = [(f"{prefix}-{f.key}", f.label, "feed", f.url) for f in feed_formats(links)]
    if opml_url:
        boxes.append((f"{prefix}-opml", "OPML", "every tag at once", opml_url))
    return f'<div class="feed-addresses">\n{"".join(_address(*box) for box in boxes)}</div>\n'


def _address(id_: str, label: str, hint: str, url: str) -> str:
    id_, url = escape(id_), escape(url)
    return (f'<div class="feed-address">\n  <label class="feed-address__label" for="{id_}">'
            f'{escape(label)} <span class="feed-address__hint">{escape(hint)}</span></label>\n'
            f'  <div class="feed-address__row">\n    <input class="feed-address__url" '
            f'id="{id_}" type="url" value="{url}" readonly spellcheck="false">\n'
            f'    <a class="button" href="{url}">Open</a>\n  </div>\n</div>\n\n')


def entry_list(site: Site, entries: Sequence[Entry], summaries: bool) -> str:
    """The macro ``entry_list``: the entries, newest first, each item kept."""
    index = 0 if summaries else 1
    items = [_items(site.base_url, entry)[index] for entry in entries]
    return f'<ol class="entries">\n{"".join(items)}</ol>\n'


_kept: Kept[tuple[str, tuple[str, str]]] = Kept(4096)


def forget(but: Collection[str]) -> None:
    """Keep the list items of the entries of ``but`` (ids) alone."""
    _kept.keep_only(but)


def _items(base_url: str, entry: Entry) -> tuple[str, str]:
    """The entry's list item with its summary (a tag page) and without (the index)."""
    held = _kept.get(entry)
    if held is not None and held[0] == base_url:
        return held[1]
    e = escape
    author = f" · {e(entry.author)}" if entry.author else ""
    head = (f'  <li class="entry">\n    <h3 class="entry__title"><a href="{e(entry.url)}">'
            f"{e(entry.title)}</a></h3>\n    <p class=\"entry__meta\"><time datetime="
            f'"{e(entry.published.isoformat())}">{e(format_date(entry.published))}</time>'
            f"{author}</p>\n")
    tags = f"    {tag_links(base_url, entry.tags)}\n" if entry.tags else ""
    summary = (f'    <p class="entry__summary">{e(entry.summary)}</p>\n'
               if entry.summary else "")
    items = (f"{head}{summary}{tags}  </li>\n", f"{head}{tags}  </li>\n")
    _kept.put(entry, (base_url, items))
    return items


def tag_links(base_url: str, tags: Sequence[TagRef]) -> str:
    """The macro ``tag_links``: an entry's tags as links to their pages."""
    chips = "".join([_chip(base_url, tag) for tag in tags])
    return f'<ul class="tag-chips">\n{chips}</ul>\n'


@lru_cache(maxsize=65536)
def _chip(base_url: str, tag: TagRef) -> str:
    return (f'  <li><a class="tag-chip" href="{escape(tag_page_url(base_url, tag.slug))}">'
            f"{escape(tag.name)}</a></li>\n")


def tag_main(site: Site, feed: Feed, number: int) -> str:
    """tag.html's main block: the tag, its feeds to subscribe to, its entries."""
    e = escape
    lede = f'  <p class="lede">{e(feed.subtitle)}</p>\n' if feed.subtitle else ""
    last = (f' · last update <time datetime="{e(feed.updated.isoformat())}">'
            f"{e(format_date(feed.updated))}</time>" if feed.entries else "")
    listed = (f"  {entry_list(site, feed.entries, True)}\n" if feed.entries else
              '  <p class="empty">No articles right now. This tag has nothing published at '
              "the moment; subscribe and new articles will arrive in your reader as soon as "
              "they are out.</p>\n")
    return (f'<section class="intro">\n  <p class="eyebrow">Tag</p>\n  <h1>{e(feed.title)}</h1>\n'
            f'{lede}  <p class="intro__meta">{e(count(number))}{last}</p>\n</section>\n\n'
            '<section class="panel" aria-labelledby="subscribe">\n'
            '  <h2 id="subscribe">Subscribe to this tag</h2>\n'
            '  <p class="panel__help">Copy an address into your feed reader to get this '
            "tag's new articles.</p>\n"
            f'  {subscribe("tag", feed.links)}\n</section>\n\n'
            '<section aria-labelledby="articles">\n  <h2 id="articles">Articles</h2>\n'
            f"{listed}</section>\n")


_TABLE_HEAD = ('  <table class="tag-table">\n    <thead>\n      <tr>\n'
               '        <th scope="col">Tag</th>\n'
               '        <th scope="col" class="num">Articles</th>\n'
               '        <th scope="col">Last update</th>\n'
               '        <th scope="col">Subscribe</th>\n'
               "      </tr>\n    </thead>\n    <tbody>\n")


def index_main(site: Site, tags: Sequence[TagSummary], feed: Feed) -> str:
    """index.html's main block: subscribe to everything, the tag table, the newest."""
    lede = f'  <p class="lede">{escape(feed.subtitle)}</p>\n' if feed.subtitle else ""
    rows = "".join([f"{tag_row(tag)}\n" for tag in tags])
    table = (f"{_TABLE_HEAD}{rows}    </tbody>\n  </table>\n" if tags else
             '  <p class="empty">No tags yet. They appear here as soon as an article names '
             "one.</p>\n")
    latest = (f"  {entry_list(site, feed.entries, False)}\n" if feed.entries else
              '  <p class="empty">No articles right now. Subscribe above and new ones will '
              "arrive in your reader.</p>\n")
    return (f'<section class="intro">\n  <h1>{escape(site.title)}</h1>\n{lede}</section>\n\n'
            '<section class="panel" aria-labelledby="subscribe">\n'
            '  <h2 id="subscribe">Subscribe to everything</h2>\n'
            '  <p class="panel__help">Copy an address into your feed reader. Every article '
            "in one feed, or every tag as its own feed with the OPML list.</p>\n"
            f'  {subscribe("all", site.all_links, site.opml_url)}\n</section>\n\n'
            f'<section aria-labelledby="tags">\n  <h2 id="tags">Tags</h2>\n{table}'
            "</section>\n\n"
            '<section aria-labelledby="latest">\n  <h2 id="latest">Latest articles</h2>\n'
            f"{latest}</section>\n")


def not_found_main(site: Site, what: str) -> str:
    """not_found.html's main block: what is not there, and the ways on."""
    where = (f'at <code class="path">{escape(what)}</code>' if what else "at this address")
    return ('<section class="intro not-found">\n  <p class="eyebrow">404</p>\n'
            f'  <h1>Nothing here</h1>\n  <p class="lede">There is no tag or article {where}.'
            "</p>\n  <p>The article may have been withdrawn, or the tag may have no articles "
            'any more. Some ways on:</p>\n  <ul class="ways-on">\n'
            f'    <li><a href="{escape(site.base_url)}/">The index</a>: every tag and the '
            "latest articles.</li>\n"
            f'    <li><a href="{escape(site.opml_url)}">The OPML list</a>: subscribe to every '
            "tag at once.</li>\n"
            f'    <li><a href="{escape(site.all_links.atom)}">The all-articles feed</a>, for '
            "your feed reader.</li>\n  </ul>\n</section>\n")
