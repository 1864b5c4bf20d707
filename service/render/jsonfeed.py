"""JSON Feed 1.1 renderer: a Feed in, deterministic UTF-8 JSON out."""

from __future__ import annotations

import json
from typing import Any

from service.identity import entry_id
from service.model import Entry, Feed
from service.render.body import body_html

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
    if feed.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in feed.hubs]
    document["items"] = [_item(entry) for entry in feed.entries]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _item(entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": entry_id(entry), "url": entry.url}
    if entry.link:
        item["external_url"] = entry.link
    item["title"] = entry.title
    item["content_html"] = body_html(entry)
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
