"""What a renderer keeps of each entry it rendered, for the next feed that lists it.

A pass that adds one article renders the all feed and its tags' feeds again, and 49
of each one's 50 entries are those the pass before rendered: their parts are kept,
by entry id, and used again only for an entry of equal values (the parts depend on
the entry alone, so the bytes are those a fresh render gives). Past ``size`` the
first kept go first: a cold build renders archives oldest first, so an entry's
archives in each of its feeds come close together, while it is still kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection
from typing import Generic, TypeVar

from service.model import Entry

T = TypeVar("T")

# A pass's all feed and the feeds of the tags it touches (50 entries each) fit many
# times over.
ENTRIES = 1024


class Kept(Generic[T]):
    """Rendered parts of the entries rendered last, by entry id."""

    def __init__(self, size: int = ENTRIES) -> None:
        self.size = size
        # ordered: evicting the oldest of a plain dict walks the holes its deletions left
        self._parts: OrderedDict[str, tuple[Entry, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, entry: Entry) -> T | None:
        """What was kept for ``entry``, if it was rendered from equal values. A lookup
        does not refresh an entry's place: a dict lookup alone is cheap, and an entry
        every pass lists is soon rendered again, once."""
        held = self._parts.get(entry.id)  # one dict read: atomic under the GIL
        if held is None or (held[0] is not entry and not _same(held[0], entry)):
            return None
        return held[1]

    def put(self, entry: Entry, part: T) -> T:
        with self._lock:
            parts = self._parts
            parts.pop(entry.id, None)
            parts[entry.id] = (entry, part)
            while len(parts) > self.size:
                parts.popitem(last=False)  # the oldest put
        return part

    def keep_only(self, ids: Collection[str]) -> None:
        """Let go of every entry's parts but those of ``ids``."""
        with self._lock:
            for article_id in [i for i in self._parts if i not in ids]:
                del self._parts[article_id]


def _same(kept: Entry, entry: Entry) -> bool:
    """Equal values, dates in the same offset: equal datetimes are the same instant,
    and the same instant in another offset is written otherwise."""
    return (kept == entry and kept.published.utcoffset() == entry.published.utcoffset()
            and kept.updated.utcoffset() == entry.updated.utcoffset())
