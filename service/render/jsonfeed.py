"""JSON Feed 1.1 renderer: a Feed in, deterministic UTF-8 JSON out.

The document is what ``json.dumps(document, ensure_ascii=False, indent=2)`` gives
(``_reference``, which the tests hold it to, byte for byte), put together from its
head, written here field by field with the C string encoder json.dumps itself uses,
and each item's text (``entries``, kept from the last document that listed the
entry). That is exact because json.dumps puts every member on its own line, indented
by its depth alone, and JSON text never holds a raw newline. By hand because
``indent=2`` takes json's pure-Python encoder, which costs more than the rest of an
entry's three formats together.

An archive document (RFC 5005) names itself as ``feed_url`` and the next older
archive as ``next_url`` (JSON Feed's pagination, towards older items).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring  # the C encoder json.dumps uses for str
from typing import Any

from service.identity import entry_id
from service.model import Entry, Feed
from service.render.body import body_html, original_line
from service.render.entries import feed_parts

VERSION = "https://jsonfeed.org/version/1.1"


def render_json(feed: Feed) -> bytes:
    """The feed as a JSON Feed 1.1 document; key order fixed, non-ASCII kept as is."""
    head = _head(feed)
    if not feed.entries:
        return f'{head},\n  "items": []\n}}\n'.encode()
    return b"".join([f'{head},\n  "items": [\n'.encode(),
                     b",\n".join([part.json for part in feed_parts(feed)]),
                     b"\n  ]\n}\n"])


def _head(feed: Feed) -> str:
    """The document's members before its items, without the comma after the last."""
    fields = [f'  "version": "{VERSION}"', f'  "title": {encode_basestring(feed.title)}',
              f'  "description": {encode_basestring(feed.subtitle)}',
              f'  "home_page_url": {encode_basestring(feed.links.page)}',
              f'  "feed_url": {encode_basestring((feed.archive or feed.links).json)}']
    if feed.prev_archive is not None:
        fields.append(f'  "next_url": {encode_basestring(feed.prev_archive.json)}')
    fields.append(f'  "authors": [\n    {{\n      "name": {encode_basestring(feed.author)}'
                  "\n    }\n  ]")
    if feed.icon:
        icon = encode_basestring(feed.icon)
        fields.append(f'  "icon": {icon},\n  "favicon": {icon}')
    if feed.hubs:
        hubs = ",\n".join([f'    {{\n      "type": "WebSub",\n      "url": '
                           f"{encode_basestring(hub)}\n    }}" for hub in feed.hubs])
        fields.append(f'  "hubs": [\n{hubs}\n  ]')
    return "{\n" + ",\n".join(fields)


def _reference(feed: Feed) -> bytes:
    """The document as json.dumps writes it, the bytes ``render_json`` must give."""
    document: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "description": feed.subtitle,
        "home_page_url": feed.links.page,
        "feed_url": (feed.archive or feed.links).json,
    }
    if feed.prev_archive is not None:
        document["next_url"] = feed.prev_archive.json
    document["authors"] = [{"name": feed.author}]
    if feed.icon:
        document["icon"] = document["favicon"] = feed.icon
    if feed.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    document["items"] = [_item(entry) for entry in feed.entries]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


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
