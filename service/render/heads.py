"""The head and the end of a feed's Atom and RSS documents, around its entries' parts.

As feedgen writes them (pretty-printed by lxml; ``atom_rss._reference`` is the
reference the tests hold these to, byte for byte), with text escaped as lxml escapes
it (``xmlparts``): built as strings because a feedgen render of a head costs a
millisecond and a large site has tens of thousands of archive documents.

Where a document stands among its feed's documents (RFC 5005) is a few links and an
element: ``rel="self"`` is the document's own URL (an archive's, else the feed's),
``rel="current"`` the subscription document's (archives only), the hubs, then
``rel="prev-archive"``; ``<fh:archive/>`` or ``<fh:complete/>`` after the feed's
own elements, the ``fh`` namespace declared on the root only when one of them is
there (so a feed without them keeps its bytes). RSS carries the same links as
``atom:link`` elements after its self link (RFC 5005 Appendix B).
"""

from __future__ import annotations

from service.identity import feed_id
from service.model import Feed
from service.render.xmlparts import element, link, rfc822, text

ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"
MEDIA_TYPES = {"atom": "application/atom+xml", "rss": "application/rss+xml"}
GENERATOR = "seedfeeds"  # no version or uri: an upgrade must not change every feed's bytes
RSS_DOCS = "http://www.rssboard.org/rss-specification"  # feedgen's default <docs>
DECLARATION = "<?xml version='1.0' encoding='UTF-8'?>\n"
ATOM_END = b"</feed>\n"
RSS_END = b"  </channel>\n</rss>\n"
_RSS_NS = (' xmlns:atom="http://www.w3.org/2005/Atom"'
           ' xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0"')


def document_links(feed: Feed, fmt: str) -> list[tuple[str, str, str | None]]:
    """The document's links in ``fmt`` ("atom" or "rss") but its page, in order:
    (href, rel, type)."""
    media_type = MEDIA_TYPES[fmt]
    own = feed.archive or feed.links
    found: list[tuple[str, str, str | None]] = [(getattr(own, fmt), "self", media_type)]
    if feed.archive is not None:
        found.append((getattr(feed.links, fmt), "current", media_type))
    found.extend((hub, "hub", None) for hub in feed.hubs)
    if feed.prev_archive is not None:
        found.append((getattr(feed.prev_archive, fmt), "prev-archive", media_type))
    return found


def history(feed: Feed) -> tuple[str, ...]:
    """The fh elements the document holds: archive, complete, both or neither."""
    return (("archive",) if feed.archive is not None else ()) + (
        ("complete",) if feed.complete else ())


def atom_head(feed: Feed) -> bytes:
    """The Atom document up to its first entry."""
    _require(feed)
    marks = history(feed)
    fh = f' xmlns:fh="{FH_NS}"' if marks else ""
    lines = [DECLARATION, f'<feed{fh} xmlns="{ATOM_NS}">\n', element("  ", "id", _id(feed)),
             element("  ", "title", feed.title),
             f"  <updated>{feed.updated.isoformat()}</updated>\n",
             f"  <author>\n    <name>{text(feed.author or feed.title)}</name>\n  </author>\n"]
    lines.extend(link("  ", "link", *parts) for parts in document_links(feed, "atom"))
    lines.append(link("  ", "link", feed.links.page, "alternate", "text/html"))
    lines.append(element("  ", "generator", GENERATOR))
    if feed.icon:
        lines.append(element("  ", "icon", feed.icon) + element("  ", "logo", feed.icon))
    lines.append(element("  ", "subtitle", feed.subtitle or feed.title))
    lines.extend(f"  <fh:{mark}/>\n" for mark in marks)
    return "".join(lines).encode()


def rss_head(feed: Feed) -> bytes:
    """The RSS document up to its first item."""
    _require(feed)
    if not feed.links.page:  # as feedgen: RSS requires the channel's link
        raise ValueError("Required fields not set (link)")
    marks = history(feed)
    fh = f' xmlns:fh="{FH_NS}"' if marks else ""
    lines = [DECLARATION, f'<rss xmlns:dc="http://purl.org/dc/elements/1.1/"{fh}{_RSS_NS}>\n',
             "  <channel>\n", element("    ", "title", feed.title),
             element("    ", "link", feed.links.page),
             element("    ", "description", feed.subtitle or feed.title)]
    lines.extend(link("    ", "atom:link", *parts) for parts in document_links(feed, "rss"))
    lines.append(element("    ", "docs", RSS_DOCS) + element("    ", "generator", GENERATOR))
    if feed.icon:
        lines.append("    <image>\n" + element("      ", "url", feed.icon)
                     + element("      ", "title", feed.title)
                     + element("      ", "link", feed.links.page) + "    </image>\n")
    lines.append(f"    <lastBuildDate>{rfc822(feed.updated)}</lastBuildDate>\n")
    lines.extend(f"    <fh:{mark}/>\n" for mark in marks)
    return "".join(lines).encode()


def _require(feed: Feed) -> None:
    if not feed.title:  # as feedgen: both formats require a title
        raise ValueError("Required fields not set (title)")


_IDS: dict[str | None, str] = {}  # by slug: a uuid5 costs more than the rest of a head


def _id(feed: Feed) -> str:
    found = _IDS.get(feed.slug)
    if found is None:
        if len(_IDS) >= 65536:  # tags come and go in a long-running publisher
            _IDS.clear()
        found = _IDS[feed.slug] = feed_id(feed)
    return found
