"""Atom and RSS 2.0 renderers: a Feed in, deterministic bytes out.

The only module that imports feedgen. feedgen fills unset dates with now(),
prepends entries and takes the RSS channel link from the last link added, so
every call here sets each value explicitly and in a deliberate order. Its RSS
keeps only the self link of the feed's atom:links: the others (the WebSub hubs)
are added by an extension of ours, after the self link, as readers look for them.
"""

from __future__ import annotations

import threading
from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator

from service.identity import entry_id, feed_id
from service.model import Entry, Feed
from service.render.body import body_html

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "seedfeeds"  # no version or uri: an upgrade must not change every feed's bytes

# feedgen formats RSS dates under locale.setlocale(LC_ALL, "C"), which is
# process-global: two threads rendering RSS at once could restore the wrong locale.
_RSS_LOCK = threading.Lock()


def render_atom_and_rss(feed: Feed) -> tuple[bytes, bytes]:
    """The feed as an Atom 1.0 and an RSS 2.0 document, UTF-8, identical bytes for
    identical input. One generator makes both: filling its entries is most of the
    work, so they are filled once and only the self link changes between the two."""
    generator = _generator(feed, self_url=feed.links.atom, self_type=ATOM_TYPE)
    atom = generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    _links(generator, feed, self_url=feed.links.rss, self_type=RSS_TYPE)
    if feed.hubs:
        generator.register_extension("hubs", _HubLinks, atom=False, rss=True)
        generator.hubs.urls = feed.hubs
    with _RSS_LOCK:
        rss = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return atom, rss


def _generator(feed: Feed, self_url: str, self_type: str) -> FeedGenerator:
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
    _links(generator, feed, self_url, self_type)
    for entry in feed.entries:
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
    item.published(entry.published)  # also the RSS pubDate
    item.updated(entry.updated)  # the default is now()
    # type="html" escapes the markup; "CDATA" would make invalid Atom.
    item.content(body_html(entry), type="html")
    if entry.summary:
        item.summary(entry.summary)  # also the RSS <description>
    if entry.tags:
        # All at once: feedgen rebuilds its RSS category list on every call.
        item.category([{"term": tag.name} for tag in entry.tags])
    if entry.author:
        item.author(name=entry.author)
        item.dc.dc_creator(entry.author)
