"""Atom and RSS 2.0 renderers: a Feed in, deterministic bytes out.

A document is its head (``heads``), each entry's part (``entries``, kept from the
last document that listed the entry) and its end, put together as bytes: a tenth of
what feedgen costs, and a cold build renders half a million archived entries.

feedgen stays the reference, in ``_reference``: the tests render every kind of feed
both ways and compare the bytes, so the string building is held to exactly what
feedgen and lxml write. This is the only module that imports feedgen. feedgen fills
unset dates with now(), prepends entries and takes the RSS channel link from the last
link added, so every call sets each value explicitly and in a deliberate order. Its
RSS keeps only the self link of the feed's atom:links, and neither format has RFC
5005's fh elements: extensions of ours add the other links (current, hubs,
prev-archive) after the self link, and the fh elements after the feed's own.
feedgen (and lxml under it) is imported on the reference's first call: publishing never
calls it, and a build would pay 25 ms at start-up for it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feedgen.entry import FeedEntry
    from feedgen.feed import FeedGenerator

from service.identity import entry_id, feed_id
from service.model import Entry, Feed
from service.render.body import body_html, original_line, summary_html
from service.render.entries import feed_parts
from service.render.heads import (
    ATOM_END,
    ATOM_NS,
    FH_NS,
    GENERATOR,
    RSS_END,
    atom_head,
    document_links,
    history,
    rss_head,
)


def render_atom_and_rss(feed: Feed) -> tuple[bytes, bytes]:
    """The feed as an Atom 1.0 and an RSS 2.0 document, UTF-8, identical bytes for
    identical input (those feedgen gives: ``_reference``)."""
    kept = feed_parts(feed)
    return (b"".join([atom_head(feed), *(part.atom for part in kept), ATOM_END]),
            b"".join([rss_head(feed), *(part.rss for part in kept), RSS_END]))


# feedgen formats RSS dates under locale.setlocale(LC_ALL, "C"), which is
# process-global: two threads rendering RSS at once could restore the wrong locale.
_RSS_LOCK = threading.Lock()


def _reference(feed: Feed) -> tuple[bytes, bytes]:
    """The feed as feedgen renders it, the bytes ``render_atom_and_rss`` must give.
    Atom and RSS come from one generator: filling its entries is most of the work, so
    they are filled once and only the links change between the two."""
    generator = _generator(feed, feed.entries)
    marks = history(feed)
    if marks:
        generator.register_extension("fh_atom", _feedgen().History, atom=True, rss=False)
        generator.fh_atom.marks = marks
    atom = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    _links(generator, feed, "rss")
    extra = document_links(feed, "rss")[1:]
    if extra or marks:
        generator.register_extension("rss_links", _feedgen().ChannelLinks, atom=False,
                                     rss=True)
        generator.rss_links.links, generator.rss_links.marks = extra, marks
    with _RSS_LOCK:
        rss = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return atom, rss


def _generator(feed: Feed, entries: Sequence[Entry]) -> FeedGenerator:
    generator = _feedgen().FeedGenerator()
    # RSS <author> must be an e-mail address, which we do not have: dc:creator
    # carries the name in RSS. Atom has its own <author>, so not there.
    generator.load_extension("dc", atom=False, rss=True)
    generator.id(feed_id(feed))
    generator.title(feed.title)
    # Also the RSS channel <description>, which RSS requires to be non-empty.
    generator.subtitle(feed.subtitle or feed.title)
    # RFC 4287 wants an author on the feed or on every entry.
    generator.author({"name": feed.author or feed.title})
    generator.updated(feed.updated)  # also RSS lastBuildDate; the default is now()
    generator.generator(GENERATOR)
    if feed.icon:
        generator.icon(feed.icon)
        generator.logo(feed.icon)  # also the RSS <image>, titled and linked as the channel
    _links(generator, feed, "atom")
    for entry in entries:
        # add_entry() prepends by default; entries arrive newest first.
        _fill_entry(generator.add_entry(order="append"), entry)
    return generator


def _links(generator: FeedGenerator, feed: Feed, fmt: str) -> None:
    # The RSS channel <link> is the last link added: the page must come last.
    links = [{"href": href, "rel": rel, **({"type": kind} if kind else {})}
             for href, rel, kind in document_links(feed, fmt)]
    generator.link([*links, {"href": feed.links.page, "rel": "alternate",
                             "type": "text/html"}], replace=True)


def _fill_entry(item: FeedEntry, entry: Entry) -> None:
    item.id(entry_id(entry))  # also the RSS guid, isPermaLink="false"
    item.title(entry.title)
    # feedgen 1.0.0 drops rel and type from Atom entry links (its issue 135):
    # only href is written, which Atom reads as rel="alternate". A second
    # link (the source) would then be a duplicate alternate, so there is one.
    item.link(href=entry.url, rel="alternate")
    if entry.link:  # the original article: rel="related", and a line readers show
        item.register_extension("original", _feedgen().OriginalLink, atom=True, rss=True)
        item.original.url = entry.link
    item.published(entry.published)  # also the RSS pubDate
    item.updated(entry.updated)  # the default is now()
    # type="html" escapes the markup; "CDATA" would make invalid Atom.
    item.content(body_html(entry) + original_line(entry), type="html")
    if entry.summary:
        item.summary(summary_html(entry), type="html")  # also the RSS <description>
    if entry.tags:
        # All at once: feedgen rebuilds its RSS category list on every call.
        item.category([{"term": tag.name} for tag in entry.tags])
    if entry.author:
        item.author(name=entry.author)
        item.dc.dc_creator(entry.author)


@cache
def _feedgen() -> SimpleNamespace:
    """feedgen's generator and the extensions of ours, made on first use."""
    from feedgen.ext.base import BaseExtension
    from feedgen.feed import FeedGenerator

    class History(BaseExtension):
        """RFC 5005's ``<fh:archive/>`` or ``<fh:complete/>`` in an Atom feed."""

        marks: tuple[str, ...] = ()

        def extend_ns(self) -> dict[str, str]:
            return {"fh": FH_NS}

        def extend_atom(self, feed: Any) -> Any:  # feedgen's lxml element, <feed>
            for mark in self.marks:
                feed.append(feed.makeelement(f"{{{FH_NS}}}{mark}"))
            return feed

    class ChannelLinks(BaseExtension):
        """The ``<atom:link>``s of an RSS channel after its self link (current, hubs,
        prev-archive), then the fh elements."""

        links: Sequence[tuple[str, str, str | None]] = ()
        marks: tuple[str, ...] = ()

        def extend_ns(self) -> dict[str, str]:
            return {"fh": FH_NS} if self.marks else {}

        def extend_rss(self, rss: Any) -> Any:  # feedgen's lxml element, <rss>
            channel = rss[0]
            after = channel.find(f"{{{ATOM_NS}}}link")
            at = list(channel).index(after) + 1 if after is not None else len(channel)
            for offset, (href, rel, kind) in enumerate(self.links):
                attributes = {"href": href, "rel": rel, **({"type": kind} if kind else {})}
                channel.insert(at + offset,
                               channel.makeelement(f"{{{ATOM_NS}}}link", attributes))
            for mark in self.marks:
                channel.append(channel.makeelement(f"{{{FH_NS}}}{mark}"))
            return rss

    class OriginalLink(BaseExtension):
        """The entry's original article, ``<link rel="related">`` in Atom (feedgen writes
        no rel on entry links) and ``<atom:link rel="related">`` in an RSS item."""

        url = ""

        def extend_atom(self, entry: Any) -> Any:  # feedgen's lxml element, <entry>
            # unqualified, as feedgen makes the entry's own (the feed's xmlns is the default)
            entry.append(entry.makeelement("link", {"href": self.url, "rel": "related"}))
            return entry

        def extend_rss(self, item: Any) -> Any:  # <item>
            item.append(item.makeelement(f"{{{ATOM_NS}}}link", {"href": self.url,
                                                                "rel": "related"}))
            return item

    return SimpleNamespace(FeedGenerator=FeedGenerator, History=History,
                           ChannelLinks=ChannelLinks, OriginalLink=OriginalLink)
