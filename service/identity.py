"""Identity rules: what makes two articles, or two tags, the same.

An article's id comes from its normalised headline and release time only, so
moving, renaming or editing the body of its file keeps it, and it never depends
on the host name or on any state. Feed and entry ids are ``urn:uuid:``s of these,
the same string in Atom, RSS and JSON Feed.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime

from service.model import Entry, Feed

# Fixed forever: changing it would change every published entry id. The bytes of the
# UUID 5eedfeed-0000-5000-8000-000000000001 (the uuid module and the platform module it
# loads would cost every command 3 ms).
ARTICLE_NAMESPACE = bytes.fromhex("5eedfeed000050008000000000000001")
_NOT_SLUG = re.compile(r"[^\w]|_", re.UNICODE)
_DASHES = re.compile(r"-{2,}")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))  # what str.isprintable() accepts of ASCII


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the comparison form of a name."""
    if text.isascii():  # NFKC leaves ASCII as it is, and casefold() of ASCII is lower()
        text = text.lower()
        if "  " not in text and text == text.strip() and not text.encode().translate(
                None, _PRINTABLE_ASCII):
            return text  # its only space is " ", single and inside: nothing to collapse
        return " ".join(text.split())
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def article_key(headline: str, published: datetime | None) -> str:
    when = "" if published is None else published.astimezone(UTC).isoformat()
    return f"{normalise(headline)}\n{when}"


def article_id(headline: str, published: datetime | None) -> str:
    """The article's id: uuid5 of its key, the same in every feed format."""
    return uuid5(article_key(headline, published))


def article_ids(headlines: Iterable[str], published: Iterable[datetime | None]) -> list[str]:
    """``article_id`` of many articles: every key first, then every hash, which is
    faster than one by one (each step's code and data stay in the CPU's caches)."""
    return list(map(uuid5, list(map(article_key, headlines, published))))


def uuid5(name: str, namespace: bytes = ARTICLE_NAMESPACE) -> str:
    """``str(uuid.uuid5(UUID(bytes=namespace), name))``, without building a UUID object
    (3x faster)."""
    if namespace is ARTICLE_NAMESPACE:
        sha1 = _ARTICLE_SHA1.copy()  # a copy of the hashed namespace: cheaper than a new one
        sha1.update(name.encode("utf-8"))
    else:
        sha1 = hashlib.sha1(namespace + name.encode("utf-8"))
    h = sha1.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_ARTICLE_SHA1 = hashlib.sha1(ARTICLE_NAMESPACE)  # never updated, only copied
# RFC 4122 variant bits (10xx) over the first hex digit of the clock sequence.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


@functools.lru_cache(maxsize=65536)
def tag_key(name: str) -> str:
    """Tags that differ only in width, case or spacing are one tag."""
    return normalise(name)


def slugify(name: str) -> str:
    """Lowercase, Unicode letters and digits kept, everything else '-'."""
    slug = _DASHES.sub("-", _NOT_SLUG.sub("-", tag_key(name))).strip("-")
    return slug or "tag"


def feed_id(feed: Feed) -> str:
    """The feed's id: a urn:uuid from its slug, independent of the host name."""
    return f"urn:uuid:{uuid5('feed:' + (feed.slug or ''))}"


def entry_id(entry: Entry) -> str:
    """The entry's id, the same string in Atom, RSS and JSON Feed."""
    return f"urn:uuid:{entry.id}"
