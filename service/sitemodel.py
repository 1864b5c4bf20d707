"""The published site as plain data: what the catalog hands to the renderers.

Every URL here is absolute (built from the base URL setting), every datetime is
aware, and every sequence is already in its final order: renderers only format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TagRef:
    """A tag as an entry mentions it: display name and the slug of its pages."""

    name: str
    slug: str


@dataclass(slots=True)
class Entry:
    """One published article. Treated as immutable; not ``frozen`` only because frozen
    construction costs 2.5x more and a cold build makes one per article."""

    id: str  # uuid; feeds use "urn:uuid:" + id
    title: str
    url: str  # absolute URL of its article page
    published: datetime
    updated: datetime
    tags: tuple[TagRef, ...]
    summary: str  # plain text
    paragraphs: tuple[str, ...]  # plain text, or one Markdown block if markup == "markdown"
    markup: str = "text"
    link: str | None = None  # the original source, if the author gave one
    author: str | None = None


@dataclass(frozen=True)
class FeedLinks:
    """Where a feed and its HTML page live."""

    page: str  # the HTML page (rel="alternate")
    atom: str
    rss: str
    json: str


@dataclass(frozen=True)
class Feed:
    """One feed: all articles, or one tag's. ``updated`` is its newest entry's."""

    slug: str | None  # None for the all feed
    title: str
    subtitle: str
    links: FeedLinks
    author: str
    updated: datetime  # newest entry's updated; for an empty feed, when it emptied
    entries: tuple[Entry, ...]  # newest published first, ties by id


@dataclass(frozen=True)
class TagSummary:
    """A tag as the index and the OPML list it."""

    name: str
    slug: str
    count: int
    updated: datetime
    links: FeedLinks


@dataclass(frozen=True)
class Site:
    """Site-wide facts every page needs."""

    title: str
    base_url: str
    author: str
    all_links: FeedLinks  # the all feed
    opml_url: str
