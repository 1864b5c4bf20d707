"""What a renderer keeps of each entry it rendered, for the next feed that lists it.

A pass that adds one article renders the all feed and its tags' feeds again, and 49
of each one's 50 entries are those the pass before rendered: their parts are kept,
by entry id, and used again only for an entry of equal values (the parts depend on
the entry alone, so the bytes are those a fresh render gives). The least recently
used go first past ``size``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
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
        self._parts: OrderedDict[str, tuple[Entry, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, entry: Entry) -> T | None:
        """What was kept for ``entry``, if it was rendered from equal values."""
        with self._lock:
            held = self._parts.get(entry.id)
            if held is None or (held[0] is not entry and held[0] != entry):
                return None
            self._parts.move_to_end(entry.id)
            return held[1]

    def put(self, entry: Entry, part: T) -> T:
        with self._lock:
            self._parts[entry.id] = (entry, part)
            self._parts.move_to_end(entry.id)
            while len(self._parts) > self.size:
                self._parts.popitem(last=False)
        return part
