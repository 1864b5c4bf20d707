"""The values handed between stages, as plain data.

``Article`` is what the seed reader hands on; ``Brief`` is what the catalog keeps of it,
its ``Text`` aside (on disk, read back to render). The rest is the published site,
what the catalog hands to the renderers: every URL absolute (built from the base URL
setting), every datetime aware, every sequence already in its final order, so renderers
only format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(slots=True)
class Article:
    """One article as read from a seed file; plain data, no behaviour.

    Treated as immutable; not ``frozen`` only because frozen construction costs
    2.5x more and the reader builds 40,000 of these a second. The reader passes the
    fields by position (3x cheaper than by keyword): keep their order.
    """

    id: str
    title: str
    tags: tuple[str, ...]
    published: datetime | None  # None: first seen by the publisher decides
    paragraphs: tuple[str, ...]
    summary: str
    source: str  # path of the seed file, relative to the seeds folder
    line: int  # line of the header (or of the front matter's title)
    markup: str = "text"  # "text" or "markdown"
    link: str | None = None
    author: str | None = None


class Text(NamedTuple):
    """What an article says: the part of it that is most of its bytes, and that a pass
    needs only to render it."""

    title: str
    summary: str
    paragraphs: tuple[str, ...]


class Brief:
    """An article as the catalog keeps it: what a pass needs to decide (id, tags, date,
    where it comes from, a digest of all it shows), and where its text is.

    ``body`` is where its text lies in the spill file (``catalog.texts``): a site of a
    million articles keeps a few hundred bytes of each in memory, not its paragraphs.
    The digest, the line and that place are packed in one bytes object of 47 bytes (80
    in memory, where the digest's own object and two ints took 125): with fewer slots,
    a third less memory an article.
    Compared by identity: the catalog asks whether a file's article is the very one it
    holds."""

    __slots__ = ("_packed", "author", "id", "link", "markup", "published", "source", "tags")

    def __init__(self, id: str, tags: tuple[str, ...], published: datetime | None,
                 source: str, line: int, digest: bytes, markup: str, link: str | None,
                 author: str | None, body: int) -> None:
        self.id, self.tags, self.published, self.source = id, tags, published, source
        self._packed = _pack_brief(digest, line, body)
        self.markup, self.link, self.author = markup, link, author

    @property
    def digest(self) -> bytes:
        """``catalog.content_hash`` of the article: 32 bytes."""
        return self._packed[:_DIGEST]

    @property
    def line(self) -> int:
        return int.from_bytes(self._packed[_DIGEST:_BODY], "little")

    @property
    def body(self) -> int:
        """Its text's place in the spill file: offset << 32 | length."""
        return int.from_bytes(self._packed[_BODY:], "little")

    @body.setter
    def body(self, place: int) -> None:
        self._packed = self._packed[:_BODY] + place.to_bytes(_PLACE, "little")

    def __repr__(self) -> str:
        return f"Brief({self.id!r}, {self.source!r}:{self.line})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its fields (a forked reader sends briefs back): unpickled by one
        call, where the default state of a slotted object is a dict made and freed for
        each, whose holes stayed among the briefs (4 MB resident at 100,000 articles)."""
        return (_brief, (self.id, self.tags, self.published, self.source, self._packed,
                         self.markup, self.link, self.author))


def _brief(id: str, tags: tuple[str, ...], published: datetime | None, source: str,
           packed: bytes, markup: str, link: str | None, author: str | None) -> Brief:
    brief = Brief.__new__(Brief)
    brief.id, brief.tags, brief.published, brief.source = id, tags, published, source
    brief._packed, brief.markup, brief.link, brief.author = packed, markup, link, author
    return brief


_DIGEST, _BODY, _PLACE = 32, 36, 11  # digest, line (4 bytes), place (a 56-bit offset)


def _pack_brief(digest: bytes, line: int, body: int) -> bytes:
    if len(digest) != _DIGEST:
        raise ValueError(f"a digest is {_DIGEST} bytes, not {len(digest)}")
    return digest + line.to_bytes(_BODY - _DIGEST, "little") + body.to_bytes(_PLACE, "little")


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
    entries: tuple[Entry, ...]  # newest arrival first (catalog.released.order)
    hubs: tuple[str, ...] = ()  # the WebSub hubs it names (rel="hub")
    icon: str = ""  # URL of the site's icon
    # Where this document stands among the feed's documents (RFC 5005): ``links`` are
    # always the subscription document's (an archive's rel="current").
    archive: FeedLinks | None = None  # an archive document's own URLs (rel="self")
    prev_archive: FeedLinks | None = None  # the newest older archive (rel="prev-archive")
    next_archive: FeedLinks | None = None  # an archive's successor (rel="next-archive")
    complete: bool = False  # a subscription document that holds every entry (fh:complete)


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
    hubs: tuple[str, ...] = ()  # the WebSub hubs every feed names
