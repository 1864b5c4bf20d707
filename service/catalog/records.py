"""The state's rows as values: an article's record, a frozen archive's entries, and
stored times as datetimes."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple, Protocol, overload


class Seen(NamedTuple):
    """What the state remembers of one article (a tuple: 100,000 are made per cold build)."""

    first_seen: float
    content_hash: str
    changed: float | None


class Named(Protocol):
    @property
    def id(self) -> str: ...


class Bucket(Sequence[tuple[str, int]]):
    """A frozen archive's entries, oldest first, as (id, updated) pairs: held as a tuple
    of ids and an array of times, a third of the memory of a tuple of pairs (a site of a
    million articles has five million archived entries)."""

    __slots__ = ("ids", "updated")

    def __init__(self, ids: tuple[str, ...] = (), updated: Iterable[int] = ()) -> None:
        self.ids = ids
        self.updated = array("q", updated)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, int]]) -> Bucket:
        held = list(pairs)
        return cls(tuple(i for i, _ in held), (u for _, u in held))

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> tuple[str, int]: ...

    @overload
    def __getitem__(self, index: slice) -> Bucket: ...

    def __getitem__(self, index: int | slice) -> tuple[str, int] | Bucket:
        if isinstance(index, slice):
            return Bucket(self.ids[index], self.updated[index])
        return self.ids[index], self.updated[index]

    def share(self, same: Mapping[str, Named]) -> None:
        """Hold the very id strings of ``same`` (id -> a value naming it as ``.id``):
        ids read from the state are copies of those the catalog holds."""
        self.ids = tuple([same[i].id if i in same else i for i in self.ids])

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return zip(self.ids, self.updated, strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Bucket):
            return self.ids == other.ids and self.updated == other.updated
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # equal to tuples, so not hashable as one

    def __repr__(self) -> str:
        return f"Bucket({list(self)!r})"


class Sighting(NamedTuple):
    """When the publisher first saw an article, and when it last changed: what dates it."""

    first_seen: float
    changed: float | None


def archived_of(text: str, names: dict[str, str]) -> Bucket:
    """An archive's entries as stored ("id updated,..."): a tenth of the cost of JSON.
    ``names``: the ids read so far, each kept once (an article is in five feeds)."""
    pairs = [p.partition(" ") for p in text.split(",") if p]
    return Bucket(tuple([names.setdefault(i, i) for i, _, _ in pairs]),
                  [int(u) for _, _, u in pairs])


@lru_cache(maxsize=4096)
def to_datetime(epoch: float) -> datetime:
    """Stored epoch seconds as an aware UTC datetime, whole seconds (feeds show seconds).
    Cached: the articles first seen in one pass share one time."""
    return datetime.fromtimestamp(int(epoch), UTC)
