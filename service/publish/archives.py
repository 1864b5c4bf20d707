"""Each feed's archive log (RFC 5005): what its subscription document holds, and what
lies frozen in its archive documents. Pure decisions over ids; the planner renders.

A feed is an append-only log in arrival order (``catalog.released.order``). Its oldest
arrivals are frozen in buckets of a fixed size, archive 1 the oldest, and a bucket is
frozen only once it is full and every entry in it is older than the subscription
document's: the document holds exactly the arrivals since the newest archive, more than
``entries - size`` and at most ``entries`` of them. So a walk from the subscription
document down the ``prev-archive`` links meets every entry once, and a new arrival never
changes a frozen archive: it lands in the subscription document, and pushes the oldest
there into a new archive when the document overflows.

What the log does with the changes it is told of:

- An edited article that lies frozen is re-announced: it joins the subscription
  document again, ordered by its new ``updated``, and its archive keeps the old copy
  (RFC 5005 section 4.2: a consumer keeps the copy nearest the subscription document).
- A deleted article (or one that lost the feed's tag, or is withheld again) is taken out
  of the archives that hold it: those, and only those, are rewritten. A deletion is
  usually a retraction; a frozen copy would keep publishing it for good.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence

from service.catalog.records import Bucket

Frozen = Bucket  # an archive's entries: (id, updated), oldest first
Key = Callable[[str], tuple[float, float, str]]  # an id's place: smallest newest
Rank = Callable[[str], int]  # the same order as whole numbers (0 the newest), faster to sort


class FeedLog:
    """One feed's archives and the ids of its subscription document."""

    def __init__(self, archives: Sequence[Frozen] = ()) -> None:
        self.archives: list[Frozen] = list(archives)
        # id -> the number of the newest archive holding it (one int for its 25 ids:
        # a million articles are five million archived entries)
        self.frozen: dict[str, int] = {i: number for number, bucket in
                                       enumerate(self.archives, 1) for i in bucket.ids}
        self.open: set[str] = set()  # the subscription document's ids
        self.announced: dict[str, int] = {}  # open ids also frozen: id -> its new updated

    def start(self, members: Iterable[str], is_member: Callable[[str], bool],
              updated: Callable[[str], int]) -> list[int]:
        """Fill the subscription document from the feed's entries: all that no archive
        holds, and those edited since their archive was frozen. Archived ids that left
        the feed while no publisher ran are taken out: the numbers of the archives
        rewritten so."""
        self.open, self.announced = set(), {}
        then = {i: u for bucket in self.archives for i, u in bucket}  # the newest wins
        for article_id in members:
            self._take(article_id, updated, then.get)
        return self._remove({i for i in self.frozen if not is_member(i)})

    def change(self, candidates: Iterable[str], is_member: Callable[[str], bool],
               updated: Callable[[str], int]) -> list[int]:
        """Take in the changed ids that are, or were, in this feed; return the numbers
        (from 1) of the archives rewritten without an id that left the feed."""
        gone: set[str] = set()
        for article_id in candidates:
            if not is_member(article_id):
                self.open.discard(article_id)
                self.announced.pop(article_id, None)
                if article_id in self.frozen:
                    gone.add(article_id)
                continue
            self._take(article_id, updated)
        return self._remove(gone)

    def _take(self, article_id: str, updated: Callable[[str], int],
              frozen_at: Callable[[str], int | None] | None = None) -> None:
        """An entry of the feed: in the subscription document unless an archive holds
        it as it is now (one edited since it was frozen is announced again)."""
        then = (frozen_at or self._frozen_at)(article_id)
        if then is None:
            self.open.add(article_id)
        elif (now := updated(article_id)) > then:
            self.open.add(article_id)
            self.announced[article_id] = now

    def _frozen_at(self, article_id: str) -> int | None:
        """The ``updated`` the newest archive holding it froze, if any."""
        number = self.frozen.get(article_id)
        if number is None:
            return None
        bucket = self.archives[number - 1]
        return bucket.updated[bucket.ids.index(article_id)]

    def _remove(self, gone: set[str]) -> list[int]:
        """Take ``gone`` out of the archives; the numbers of those rewritten."""
        if not gone:
            return []
        rewritten = []
        for index, bucket in enumerate(self.archives):
            if any(i in gone for i in bucket.ids):
                self.archives[index] = Bucket.of(pair for pair in bucket if pair[0] not in gone)
                rewritten.append(index + 1)
        for article_id in gone:
            del self.frozen[article_id]
        return rewritten

    def freeze(self, key: Key, updated: Callable[[str], int], entries: int,
               size: int, rank: Rank | None = None) -> list[int]:
        """Freeze the oldest arrivals while the subscription document holds more than
        ``entries``; return the new archives' numbers. ``size`` is taken as ``entries``
        if larger, so the document never runs dry. ``rank``, if given, is ``key``'s order
        (a cold build's first freeze sorts every entry of every feed)."""
        size = min(size, entries)
        if len(self.open) <= entries:
            return []
        place = rank if rank is not None and not self.announced else self._key(key)
        oldest = sorted(self.open, key=place, reverse=True)
        made = []
        start = 0
        while len(oldest) - start > entries:  # then a full bucket is there to freeze
            bucket = oldest[start:start + size]
            for article_id in bucket:
                self.announced.pop(article_id, None)
            self.archives.append(Bucket(tuple(bucket), array("q", map(updated, bucket))))
            self.frozen.update(dict.fromkeys(bucket, len(self.archives)))
            made.append(len(self.archives))
            start += size
        # A set keeps the room it once needed: the document's few, not a cold build's all.
        self.open = set(oldest[start:])
        return made

    def head(self, key: Key) -> list[str]:
        """The subscription document's ids, newest arrival first."""
        return sorted(self.open, key=self._key(key))

    def _key(self, key: Key) -> Key:
        """A re-announced entry arrives again when it was edited."""
        announced = self.announced
        if not announced:
            return key

        def place(article_id: str) -> tuple[float, float, str]:
            own = key(article_id)
            again = announced.get(article_id)
            return own if again is None else (-float(again), own[1], own[2])
        return place
