"""A feed's history as an RFC 5005 consumer reads it: from the subscription document down
the ``prev-archive`` links (JSON Feed: ``next_url``), one document after another."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import feedparser
from lxml import etree

FH = "http://purl.org/syndication/history/1.0"
ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Document:
    """One document of a feed's history, as a reader sees it."""

    url: str
    ids: list[str]  # its entries' ids, in document order
    links: dict[str, str]  # rel -> href of the feed's own links (self, current, prev-archive)
    archive: bool  # carries fh:archive
    complete: bool  # carries fh:complete


def read(url: str, data: bytes) -> Document:
    """What an Atom, RSS or JSON Feed document says of its place in the history."""
    if url.endswith(".json"):
        feed = json.loads(data)
        links = {"self": feed["feed_url"]}
        if "next_url" in feed:
            links["prev-archive"] = feed["next_url"]
        return Document(url, [item["id"] for item in feed["items"]], links, False, False)
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, f"{url}: {parsed.get('bozo_exception')}"
    root = etree.fromstring(data)
    channel = root if root.tag == f"{{{ATOM}}}feed" else root.find("channel")
    assert channel is not None, url
    own = channel.findall(f"{{{ATOM}}}link")
    links = {link.get("rel", "alternate"): link.get("href", "") for link in own}
    return Document(url, [entry.id for entry in parsed.entries], links,
                    channel.find(f"{{{FH}}}archive") is not None,
                    channel.find(f"{{{FH}}}complete") is not None)


def walk(fetch: Callable[[str], bytes], url: str, limit: int = 10_000) -> list[Document]:
    """Every document from the subscription document at ``url`` to the oldest archive."""
    documents = []
    while url and len(documents) < limit:
        document = read(url, fetch(url))
        documents.append(document)
        url = document.links.get("prev-archive", "")
    assert len(documents) < limit, f"the prev-archive chain from {url} does not end"
    return documents


def history(documents: list[Document]) -> list[str]:
    """Every entry id met on the walk, in the order met (duplicates kept)."""
    return [i for document in documents for i in document.ids]
