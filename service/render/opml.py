"""OPML 2.0 renderer: the subscription list of the all feed and every tag feed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree

from service.model import Site, TagSummary

DOCS = "http://opml.org/spec2.opml"


def render_opml(site: Site, tags: Sequence[TagSummary], date: datetime) -> bytes:
    """An OPML 2.0 list: the all feed, then one outline per tag in the given order."""
    root = ElementTree.Element("opml", version="2.0")
    root.append(_head(site, date))
    body = ElementTree.SubElement(root, "body")
    body.append(_outline(f"{site.title} — all articles", site.all_links.atom,
                         site.all_links.page))
    for tag in tags:
        body.append(_outline(tag.name, tag.links.atom, tag.links.page))
    ElementTree.indent(root)
    # ElementTree escapes & < > " in text and attributes, so any tag name is safe.
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _head(site: Site, date: datetime) -> ElementTree.Element:
    head = ElementTree.Element("head")
    # format_datetime, unlike strftime, ignores the locale: always RFC 822 English.
    stamp = format_datetime(date)
    fields = (("title", site.title), ("dateCreated", stamp), ("dateModified", stamp),
              ("ownerName", site.author), ("docs", DOCS))
    for name, text in fields:
        ElementTree.SubElement(head, name).text = text
    return head


def _outline(text: str, xml_url: str, html_url: str) -> ElementTree.Element:
    return ElementTree.Element("outline", text=text, title=text, type="rss",
                               xmlUrl=xml_url, htmlUrl=html_url)
