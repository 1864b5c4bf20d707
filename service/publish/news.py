"""Which articles the Google News sitemap lists: those published in the last 48
hours, newest first, at most 1,000 (Google's limits).

A live site may hold far more than 1,000 articles of the last two days (the
100,000-article benchmark corpus has 70,000), so ranking them all at each pass would
cost a tenth of a second. Instead the 2,000 newest released articles, of any age, are
kept in order and updated from the articles a pass changed: the list is the newest
1,000 of them that are recent enough. Only after a thousand of them went (deleted, or
withheld again) could an article left out belong in the list, and only then is the
whole site ranked again.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping

from service.publish.dating import Dated

NEWS_SECONDS = 48 * 3600  # Google News takes the articles of the last two days ...
NEWS_MAX = 1000  # ... at most this many in one sitemap

Key = tuple[float, str]  # (published, id): the newest is the greatest
OrderKey = tuple[float, float, str]  # views.order(): (-arrival, -published, id)


class Newest:
    """The newest released articles, by published time then id: at least the ``size``
    newest of all while the site has that many, kept up to date pass by pass."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or NEWS_MAX
        self.capacity = 2 * self.size  # room for deletions before a ranking is needed
        self.keys: list[Key] = []  # oldest first
        self.members: dict[str, Key] = {}
        self.floor: Key = _NONE  # no article left out is newer than this

    def rebuild(self, entries: Mapping[str, Dated]) -> None:
        """Rank every article (a cold pass; or too many of the kept ones went)."""
        self.keys = sorted(heapq.nlargest(self.capacity,
                                          (_key(dated.order) for dated in entries.values())))
        self.members = {key[1]: key for key in self.keys}
        self.floor = self.keys[0] if len(self.keys) == self.capacity else _NONE

    def update(self, ids: Iterable[str], entries: Mapping[str, Dated]) -> None:
        """Take in the articles a pass changed, added or removed."""
        keys, members = self.keys, self.members
        for article_id in ids:
            old = members.pop(article_id, None)
            if old is not None:
                del keys[bisect_left(keys, old)]
            dated = entries.get(article_id)
            if dated is None:
                continue
            key = _key(dated.order)
            if len(keys) < self.capacity or key > keys[0]:
                insort(keys, key)
                members[article_id] = key
                if len(keys) > self.capacity:
                    dropped = keys.pop(0)
                    del members[dropped[1]]
                    self.floor = max(self.floor, dropped)
            else:
                self.floor = max(self.floor, key)

    def listed(self, entries: Mapping[str, Dated], now: float) -> list[str]:
        """The news sitemap's articles at ``now``: newest first."""
        horizon = (now - NEWS_SECONDS, "")
        keys = self.keys
        # An article left out could be listed if it may be recent and the kept ones
        # do not hold ``size`` newer than it.
        if self.floor >= horizon and (len(keys) < self.size or keys[-self.size] < self.floor):
            self.rebuild(entries)
            keys = self.keys
        at = max(bisect_left(keys, horizon), len(keys) - self.size)
        return [key[1] for key in reversed(keys[at:])]


_NONE: Key = (float("-inf"), "")


def _key(order_key: OrderKey) -> Key:
    return (-order_key[1], order_key[2])
