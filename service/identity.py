"""Identity rules: what makes two articles, or two tags, the same.

An article's id comes from its normalised headline and release time only, so
moving, renaming or editing the body of its file keeps it, and it never depends
on the host name or on any state.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, datetime

# Fixed forever: changing it would change every published entry id.
ARTICLE_NAMESPACE = uuid.UUID("5eedfeed-0000-5000-8000-000000000001")
_NOT_SLUG = re.compile(r"[^\w]|_", re.UNICODE)
_DASHES = re.compile(r"-{2,}")


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: the comparison form of a name."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def article_key(headline: str, published: datetime | None) -> str:
    when = "" if published is None else published.astimezone(UTC).isoformat()
    return f"{normalise(headline)}\n{when}"


def article_id(headline: str, published: datetime | None) -> str:
    """The article's id: uuid5 of its key, the same in every feed format."""
    return str(uuid.uuid5(ARTICLE_NAMESPACE, article_key(headline, published)))


def tag_key(name: str) -> str:
    """Tags that differ only in width, case or spacing are one tag."""
    return normalise(name)


def slugify(name: str) -> str:
    """Lowercase, Unicode letters and digits kept, everything else '-'."""
    slug = _DASHES.sub("-", _NOT_SLUG.sub("-", tag_key(name))).strip("-")
    return slug or "tag"
