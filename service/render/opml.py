"""OPML 2.0 renderer: the subscription list of the all feed and every tag feed, the tags
grouped in one outline, so that a reader's import lands them in one folder.

What ElementTree writes for the list (indented by ``ElementTree.indent``): the head and
the all feed's outline are serialized by it, and each tag's outline, one line indented
to its depth, is kept from the last time (a pass renders the list again for its new
date, and a site has hundreds of tags); both are ElementTree's own serialization.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from xml.etree import ElementTree

from service.model import Site, TagSummary
from service.render.xmlparts import rfc822

DOCS = "http://opml.org/spec2.opml"


def render_opml(site: Site, tags: Sequence[TagSummary], date: datetime) -> bytes:
    """An OPML 2.0 list: the all feed, then one outline per tag in the given order."""
    root = ElementTree.Element("opml", version="2.0")
    root.append(_head(site, date))
    body = ElementTree.SubElement(root, "body")
    body.append(_outline(f"{site.title} — all articles", site.all_links.atom,
                         site.all_links.page))
    ElementTree.indent(root)
    # ElementTree escapes & < > " in text and attributes, so any tag name is safe.
    head = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    assert head.endswith(_BODY_END), head[-40:]
    if not tags:
        return head + b"\n"
    group = ElementTree.tostring(ElementTree.Element(
        "outline", text=f"{site.title} — tags", title=f"{site.title} — tags"),
        encoding="unicode").removesuffix(" />") + ">"
    outlines = [_outline_line(tag.name, tag.links.atom, tag.links.page) for tag in tags]
    return b"".join([head[:-len(_BODY_END)], f"\n    {group}".encode(), *outlines,
                     b"\n    </outline>", _BODY_END, b"\n"])


_BODY_END = b"\n  </body>\n</opml>"  # after the body's last outline


@lru_cache(maxsize=65536)
def _outline_line(text: str, xml_url: str, html_url: str) -> bytes:
    """One tag's outline as it follows another in the group: a newline, the group's
    children's indent, the element."""
    outline = ElementTree.tostring(_outline(text, xml_url, html_url), encoding="unicode")
    return f"\n      {outline}".encode()


def _head(site: Site, date: datetime) -> ElementTree.Element:
    head = ElementTree.Element("head")
    # The RSS feeds' RFC 822 dates, never the locale's names (email.utils would write
    # the same, and cost every build 13 ms of imports).
    stamp = rfc822(date)
    fields = (("title", site.title), ("dateCreated", stamp), ("dateModified", stamp),
              ("ownerName", site.author), ("docs", DOCS))
    for name, text in fields:
        ElementTree.SubElement(head, name).text = text
    return head


def _outline(text: str, xml_url: str, html_url: str) -> ElementTree.Element:
    return ElementTree.Element("outline", text=text, title=text, type="rss",
                               xmlUrl=xml_url, htmlUrl=html_url)
