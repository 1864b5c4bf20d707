"""Answers: what the body of a 200 must be for its URL, and what it says."""

from __future__ import annotations

import calendar
import json
import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from xml.etree import ElementTree

import feedparser


class Item(NamedTuple):
    id: str
    published: int
    title: str
    updated: int | None = None  # Atom and JSON Feed say it; RSS does not


@dataclass(frozen=True)
class Snapshot:
    """What one valid answer said: a feed's entries, the OPML's tags, a page's date."""

    items: tuple[Item, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()  # OPML: (slug, display name)
    published: int | None = None  # an article page's published date
    prev_archive: str | None = None  # a feed document's prev-archive link, as a path
    history: frozenset[str] = frozenset()  # its fh elements: "archive", "complete"


class Invalid(Exception):
    """A 200 whose body is not what its URL promises."""


JSON_FEED = "https://jsonfeed.org/version/1.1"
ATOM_NS = "{http://www.w3.org/2005/Atom}"
FH_NS = "{http://purl.org/syndication/history/1.0}"
_PUBLISHED = re.compile(rb'Published <time datetime="([^"]+)"')
_TAG_URL = re.compile(r"/tags/([^/]+)\.atom$")


def read_answer(url: str, body: bytes) -> Snapshot:
    """Check a 200's body against its URL's format; what it says, or Invalid."""
    path = urllib.parse.urlsplit(url).path
    if path.endswith((".atom", ".rss")):
        return read_xml_feed(body)
    if path.endswith(".json"):
        return read_json_feed(body)
    if path.endswith(".opml"):
        return read_opml(body)
    return read_page(body)


def read_xml_feed(body: bytes) -> Snapshot:
    parsed = feedparser.parse(body)
    if parsed.bozo:
        raise Invalid(f"feedparser: {parsed.get('bozo_exception')}")
    atom = str(parsed.get("version", "")).startswith("atom")
    items = []
    for entry in parsed.entries:
        when = entry.get("published_parsed")
        if when is None or not entry.get("id", "").startswith("urn:uuid:"):
            raise Invalid(f"entry without urn:uuid id or published date: {entry.get('id')}")
        changed = entry.get("updated_parsed") if atom else None
        items.append(Item(entry.id.removeprefix("urn:uuid:"), calendar.timegm(when),
                          entry.get("title", ""),
                          calendar.timegm(changed) if changed else None))
    prev_archive, history = xml_history(body)
    return Snapshot(items=tuple(items), prev_archive=prev_archive, history=history)


def xml_history(body: bytes) -> tuple[str | None, frozenset[str]]:
    """RFC 5005 in an Atom or RSS document: its prev-archive link (a path) and its fh
    elements, on the feed (Atom) or the channel (RSS: the link as atom:link)."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise Invalid(f"does not parse as XML: {exc}") from None
    head = root if root.tag == f"{ATOM_NS}feed" else root.find("channel")
    if head is None:
        raise Invalid(f"neither an Atom feed nor an RSS channel: <{root.tag}>")
    links = [link.get("href", "") for link in head.findall(f"{ATOM_NS}link")
             if link.get("rel") == "prev-archive"]
    if len(links) > 1:
        raise Invalid(f"{len(links)} prev-archive links")
    history = frozenset(mark for mark in ("archive", "complete")
                        if head.find(f"{FH_NS}{mark}") is not None)
    return (link_path(links[0]) if links else None), history


def link_path(href: str) -> str:
    """The path of a link the server gave (absolute, on its base URL)."""
    return urllib.parse.urlsplit(href).path


def read_json_feed(body: bytes) -> Snapshot:
    try:
        document = json.loads(body)
        if document.get("version") != JSON_FEED:
            raise Invalid(f"JSON Feed version {document.get('version')!r}")
        items = tuple(Item(item["id"].removeprefix("urn:uuid:"),
                           int(datetime.fromisoformat(item["date_published"]).timestamp()),
                           item.get("title", ""),
                           int(datetime.fromisoformat(item["date_modified"]).timestamp())
                           if item.get("date_modified") else None)
                      for item in document["items"])
        next_url = document.get("next_url")
        if next_url is not None and not isinstance(next_url, str):
            raise Invalid(f"next_url is not a string: {next_url!r}")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Invalid(f"JSON Feed does not parse: {exc!r}") from None
    return Snapshot(items=items, prev_archive=link_path(next_url) if next_url else None)


def read_opml(body: bytes) -> Snapshot:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise Invalid(f"OPML does not parse: {exc}") from None
    if root.tag != "opml" or root.get("version") != "2.0" or root.find("body") is None:
        raise Invalid("not an OPML 2.0 document")
    tags = []
    for outline in root.iter("outline"):
        found = _TAG_URL.search(outline.get("xmlUrl", ""))
        if found:
            tags.append((urllib.parse.unquote(found.group(1)), outline.get("title", "")))
    return Snapshot(tags=tuple(tags))


def read_page(body: bytes) -> Snapshot:
    if not body[:15].lower().startswith(b"<!doctype html") or b"</html>" not in body[-64:]:
        raise Invalid(f"not a whole HTML page: {body[:40]!r}...{body[-40:]!r}")
    found = _PUBLISHED.search(body)
    published = (int(datetime.fromisoformat(found.group(1).decode()).timestamp())
                 if found else None)
    return Snapshot(published=published)
