"""Atom and RSS 2.0 renderers: a Feed in, deterministic bytes out.

The only module that imports feedgen. feedgen fills unset dates with now(),
prepends entries and takes the RSS channel link from the last link added, so
every call here sets each value explicitly and in a deliberate order. Its RSS
keeps only the self link of the feed's atom:links: the others (the WebSub hubs)
are added by an extension of ours, after the self link, as readers look for them.

A pass that adds one article renders the all feed and its tags' feeds again, and 49
of each one's 50 entries are those it rendered the pass before. So each entry's bytes,
as they stand in a document, are kept (``kept.Kept``), and a feed is the head and the
end of a document feedgen renders with only the entries not kept, around every entry's
bytes. That is exact: lxml pretty-prints each child of the root (or of the RSS channel)
on its own lines, indented by its depth alone, and escapes every ``<`` of text, so a
document is its head, then each entry's lines, then its closing tags, whichever entries
it holds. An entry's bytes depend on the entry alone, never on the feed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator

from service.identity import entry_id, feed_id
from service.model import Entry, Feed
from service.render.body import body_html, original_line
from service.render.kept import Kept

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "seedfeeds"  # no version or uri: an upgrade must not change every feed's bytes

# feedgen formats RSS dates under locale.setlocale(LC_ALL, "C"), which is
# process-global: two threads rendering RSS at once could restore the wrong locale.
_RSS_LOCK = threading.Lock()

# Where an entry starts in a pretty-printed document, and how the document ends.
_ATOM_ENTRY, _ATOM_END = b"\n  <entry>", b"</feed>\n"
_RSS_ITEM, _RSS_END = b"\n    <item>", b"  </channel>\n</rss>\n"
_entries: Kept[tuple[bytes, bytes]] = Kept()  # an entry's Atom and RSS bytes


def render_atom_and_rss(feed: Feed) -> tuple[bytes, bytes]:
    """The feed as an Atom 1.0 and an RSS 2.0 document, UTF-8, identical bytes for
    identical input: feedgen renders the feed with the entries not kept (none, most
    often), whose bytes are cut out and kept, and every entry's bytes go in between
    that document's head and its end."""
    parts = [_entries.get(entry) for entry in feed.entries]
    missing = [entry for entry, part in zip(feed.entries, parts, strict=True) if part is None]
    atom, rss = _documents(feed, missing)
    atom_cut = _cut(atom, _ATOM_ENTRY, _ATOM_END, len(missing))
    rss_cut = _cut(rss, _RSS_ITEM, _RSS_END, len(missing))
    if atom_cut is None or rss_cut is None:  # not as lxml writes it: all from feedgen
        return (atom, rss) if len(missing) == len(parts) else _documents(feed, feed.entries)
    cut = iter(zip(atom_cut[1], rss_cut[1], strict=True))
    for index, entry in enumerate(feed.entries):
        if parts[index] is None:
            parts[index] = _entries.put(entry, next(cut))
    return (b"".join([atom_cut[0], *(part[0] for part in parts if part), _ATOM_END]),
            b"".join([rss_cut[0], *(part[1] for part in parts if part), _RSS_END]))


def _cut(document: bytes, start: bytes, end: bytes,
         count: int) -> tuple[bytes, list[bytes]] | None:
    """A document's head (before its first entry) and the bytes of each of its ``count``
    entries (from the indent of its first line to the newline after its last); None if
    it does not end with ``end`` or hold exactly that many entries."""
    if not document.endswith(end):
        return None
    starts = []
    at = document.find(start)
    while at != -1:
        starts.append(at + 1)
        at = document.find(start, at + 1)
    if len(starts) != count:
        return None
    bounds = [*starts, len(document) - len(end)]
    return document[:bounds[0]], [document[a:b] for a, b in pairwise(bounds)]


def _documents(feed: Feed, entries: Sequence[Entry]) -> tuple[bytes, bytes]:
    """Atom and RSS from one generator: filling its entries is most of the work, so
    they are filled once and only the self link changes between the two."""
    generator = _generator(feed, entries, self_url=feed.links.atom, self_type=ATOM_TYPE)
    atom = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    _links(generator, feed, self_url=feed.links.rss, self_type=RSS_TYPE)
    if feed.hubs:
        generator.register_extension("hubs", _HubLinks, atom=False, rss=True)
        generator.hubs.urls = feed.hubs
    with _RSS_LOCK:
        rss = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return atom, rss


def _generator(feed: Feed, entries: Sequence[Entry], self_url: str,
               self_type: str) -> FeedGenerator:
    generator = FeedGenerator()
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
    _links(generator, feed, self_url, self_type)
    for entry in entries:
        # add_entry() prepends by default; entries arrive newest first.
        _fill_entry(generator.add_entry(order="append"), entry)
    return generator


def _links(generator: FeedGenerator, feed: Feed, self_url: str, self_type: str) -> None:
    # The RSS channel <link> is the last link added: the page must come last.
    generator.link([{"href": self_url, "rel": "self", "type": self_type},
                    *({"href": hub, "rel": "hub"} for hub in feed.hubs),
                    {"href": feed.links.page, "rel": "alternate", "type": "text/html"}],
                   replace=True)


class _HubLinks(BaseExtension):
    """``<atom:link rel="hub">`` in an RSS channel, after its self link."""

    urls: tuple[str, ...] = ()

    def extend_rss(self, rss: Any) -> Any:  # feedgen's lxml element, <rss>
        channel = rss[0]
        after = channel.find(f"{{{ATOM_NS}}}link")
        at = list(channel).index(after) + 1 if after is not None else len(channel)
        for offset, url in enumerate(self.urls):
            channel.insert(at + offset, channel.makeelement(f"{{{ATOM_NS}}}link",
                                                            {"href": url, "rel": "hub"}))
        return rss


def _fill_entry(item: FeedEntry, entry: Entry) -> None:
    item.id(entry_id(entry))  # also the RSS guid, isPermaLink="false"
    item.title(entry.title)
    # feedgen 1.0.0 drops rel and type from Atom entry links (its issue 135):
    # only href is written, which Atom reads as rel="alternate". A second
    # link (the source) would then be a duplicate alternate, so there is one.
    item.link(href=entry.url, rel="alternate")
    if entry.link:  # the original article: rel="related", and a line readers show
        item.register_extension("original", _OriginalLink, atom=True, rss=True)
        item.original.url = entry.link
    item.published(entry.published)  # also the RSS pubDate
    item.updated(entry.updated)  # the default is now()
    # type="html" escapes the markup; "CDATA" would make invalid Atom.
    item.content(body_html(entry) + original_line(entry), type="html")
    if entry.summary:
        item.summary(entry.summary)  # also the RSS <description>
    if entry.tags:
        # All at once: feedgen rebuilds its RSS category list on every call.
        item.category([{"term": tag.name} for tag in entry.tags])
    if entry.author:
        item.author(name=entry.author)
        item.dc.dc_creator(entry.author)


class _OriginalLink(BaseExtension):
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
