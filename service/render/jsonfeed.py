"""JSON Feed 1.1 renderer: a Feed in, deterministic UTF-8 JSON out.

The document is what ``json.dumps(document, ensure_ascii=False, indent=2)`` gives, put
together from each item's text, kept for the next feed that lists the entry
(``kept.Kept``): the head and the items are dumped apart and each item's lines
indented to their depth, which is exact because JSON text never holds a raw newline.
"""

from __future__ import annotations

import json
from typing import Any

from service.identity import entry_id
from service.model import Entry, Feed
from service.render.body import body_html, original_line
from service.render.kept import Kept

VERSION = "https://jsonfeed.org/version/1.1"


def render_json(feed: Feed) -> bytes:
    """The feed as a JSON Feed 1.1 document; key order fixed, non-ASCII kept as is."""
    document: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "description": feed.subtitle,
        "home_page_url": feed.links.page,
        "feed_url": feed.links.json,
        "authors": [{"name": feed.author}],
    }
    if feed.icon:
        document["icon"] = document["favicon"] = feed.icon
    if feed.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    if not feed.entries:
        document["items"] = []
        return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    head = json.dumps(document, ensure_ascii=False, indent=2)
    assert head.endswith("\n}")
    items = ",\n".join([_item_text(entry) for entry in feed.entries])
    return f'{head[:-2]},\n  "items": [\n{items}\n  ]\n}}\n'.encode()


_items: Kept[str] = Kept()


def _item_text(entry: Entry) -> str:
    """One item as it stands in the document: at the depth of the items list's members."""
    text = _items.get(entry)
    if text is None:
        dumped = json.dumps(_item(entry), ensure_ascii=False, indent=2)
        text = _items.put(entry, "    " + dumped.replace("\n", "\n    "))
    return text


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry_id(entry), "url": entry.url}
    if entry.link:
        item["external_url"] = entry.link
    item["title"] = entry.title
    item["content_html"] = body_html(entry) + original_line(entry)
    if entry.summary:
        item["summary"] = entry.summary
    # isoformat() of an aware datetime is RFC 3339 with its offset.
    item["date_published"] = entry.published.isoformat()
    item["date_modified"] = entry.updated.isoformat()
    if entry.tags:
        item["tags"] = [tag.name for tag in entry.tags]
    if entry.author:
        item["authors"] = [{"name": entry.author}]
    return item
