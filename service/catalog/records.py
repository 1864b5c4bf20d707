"""The state's rows as values: an article's record, a frozen archive's entries, and
stored times as datetimes."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple


class Seen(NamedTuple):
    """What the state remembers of one article (a tuple: 100,000 are made per cold build)."""

    first_seen: float
    content_hash: str
    changed: float | None


def archived_of(text: str) -> tuple[tuple[str, int], ...]:
    """An archive's entries as stored ("id updated,..."): a tenth of the cost of JSON."""
    return tuple((i, int(u)) for i, _, u in (p.partition(" ") for p in text.split(",") if p))


@lru_cache(maxsize=4096)
def to_datetime(epoch: float) -> datetime:
    """Stored epoch seconds as an aware UTC datetime, whole seconds (feeds show seconds).
    Cached: the articles first seen in one pass share one time."""
    return datetime.fromtimestamp(int(epoch), UTC)
