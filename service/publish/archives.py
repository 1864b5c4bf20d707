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
from collections.abc import Callable, Iterable, Mapping, Sequence

from service.catalog.records import Bucket

Frozen = Bucket  # an archive's entries: (id, updated), oldest first
Place = tuple[float, float, str]  # an entry's place in arrival order: smallest newest
Key = Callable[[str], Place]  # an id's place
Where = Callable[[str], "Place | None"]  # an id's place, None if it has none
Rank = Callable[[str], int]  # the same order as whole numbers (0 the newest), faster to sort


class FeedLog:
    """One feed's archives and the ids of its subscription document.

    It keeps no map of the ids it froze (five entries an article, a fifth of a large
    site's memory): an archive holding an id is found by its place, since archives are
    frozen oldest first (a binary search over their newest entries, checked against
    the archive found). The few ids that search cannot find, those frozen twice (edited
    since their archive, then frozen again) and those whose place moved, are kept in
    ``irregular`` with the numbers of the archives holding them."""

    def __init__(self, archives: Sequence[Frozen] = (), place: Where | None = None) -> None:
        self.archives: list[Frozen] = list(archives)
        # an id's place now (an id of this pass's deletions: its last); None: no search,
        # every lookup scans the archives
        self.place = place
        self.irregular: dict[str, tuple[int, ...]] = {}  # id -> every archive holding it
        self.open: set[str] = set()  # the subscription document's ids
        self.announced: dict[str, int] = {}  # open ids also frozen: id -> its new updated

    def start(self, members: Iterable[str], is_member: Callable[[str], bool],
              updated: Callable[[str], int]) -> list[int]:
        """Fill the subscription document from the feed's entries: all that no archive
        holds, and those edited since their archive was frozen. Archived ids that left
        the feed while no publisher ran are taken out: the numbers of the archives
        rewritten so."""
        self.open, self.announced, self.irregular = set(), {}, {}
        then: dict[str, int] = {}  # the newest wins
        twice: set[str] = set()
        for bucket in self.archives:
            for article_id, stamp in bucket:
                if article_id in then:
                    twice.add(article_id)
                then[article_id] = stamp
        for article_id in twice:
            self.irregular[article_id] = self._scan(article_id)
        for article_id in members:
            frozen_at = then.get(article_id)
            if frozen_at is None:
                self.open.add(article_id)
            else:
                self._take(article_id, updated, frozen_at)
        left = {i for i in then if not is_member(i)}
        gone: dict[str, tuple[int, ...]] = {}
        for number, bucket in enumerate(self.archives, 1) if left else ():
            for article_id in left.intersection(bucket.ids):
                gone[article_id] = (*gone.get(article_id, ()), number)
        return self._remove(gone)

    def change(self, candidates: Iterable[str], is_member: Callable[[str], bool],
               updated: Callable[[str], int], was: Mapping[str, Place]) -> list[int]:
        """Take in the changed ids that are, or were, in this feed (``was``: the places
        of those that were, as the last pass placed them); return the numbers (from 1) of
        the archives rewritten without an id that left the feed."""
        gone: dict[str, tuple[int, ...]] = {}
        for article_id in candidates:
            # what was in the feed is in its document or frozen, or both (announced)
            frozen = article_id in was and (article_id not in self.open
                                            or article_id in self.announced)
            numbers = self._numbers(article_id, was[article_id]) if frozen else ()
            if not is_member(article_id):
                self.open.discard(article_id)
                self.announced.pop(article_id, None)
                if numbers:
                    gone[article_id] = numbers
                continue
            if not numbers:
                self.open.add(article_id)
                continue
            if self.place is not None and self.place(article_id) != was[article_id]:
                self.irregular[article_id] = numbers  # its place moved: search no more
            self._take(article_id, updated, self._updated_in(article_id, numbers[-1]))
        return self._remove(gone)

    def _take(self, article_id: str, updated: Callable[[str], int], then: int) -> None:
        """A frozen entry of the feed: in the subscription document again if edited since
        the newest archive holding it froze it (``then``, its ``updated`` there)."""
        if (now := updated(article_id)) > then:
            self.open.add(article_id)
            self.announced[article_id] = now

    def _updated_in(self, article_id: str, number: int) -> int:
        bucket = self.archives[number - 1]
        return bucket.updated[bucket.ids.index(article_id)]

    def _numbers(self, article_id: str, place: Place | None) -> tuple[int, ...]:
        """The numbers of the archives holding a frozen id, oldest first: by the binary
        search at ``place``, else from ``irregular`` or a scan."""
        numbers = self.irregular.get(article_id)
        if numbers is not None:
            return numbers
        if place is not None and self.place is not None:
            index = self._search(place)
            if index < len(self.archives) and article_id in self.archives[index].ids:
                return (index + 1,)
        numbers = self._scan(article_id)
        if numbers and place is not None and self.place is not None:
            self.irregular[article_id] = numbers  # out of place: found by scan once
        return numbers

    def _scan(self, article_id: str) -> tuple[int, ...]:
        return tuple(number for number, bucket in enumerate(self.archives, 1)
                     if article_id in bucket.ids)

    def _search(self, place: Place) -> int:
        """The index of the oldest archive whose newest regular entry is not older than
        ``place`` (the archive that would hold an entry there)."""
        low, high = 0, len(self.archives)
        while low < high:
            middle = (low + high) // 2
            newest = self._newest(middle)
            if newest is not None and newest <= place:
                high = middle
            else:
                low = middle + 1
        return low

    def _newest(self, index: int) -> Place | None:
        """The place of an archive's newest entry that the search can find; of the
        archive before it if it has none (emptied by deletions); None if none has."""
        assert self.place is not None
        for at in range(index, -1, -1):
            for article_id in reversed(self.archives[at].ids):
                if article_id not in self.irregular:
                    place = self.place(article_id)
                    if place is not None:
                        return place
        return None

    def _remove(self, gone: Mapping[str, tuple[int, ...]]) -> list[int]:
        """Take ``gone`` (id -> the archives holding it) out of the archives; the numbers
        of those rewritten."""
        held: dict[int, set[str]] = {}
        for article_id, numbers in gone.items():
            for number in numbers:
                held.setdefault(number, set()).add(article_id)
            self.irregular.pop(article_id, None)
        for number, ids in held.items():
            bucket = self.archives[number - 1]
            self.archives[number - 1] = Bucket.of(pair for pair in bucket if pair[0] not in ids)
        return sorted(held)

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
            number = len(self.archives) + 1
            for article_id in bucket:
                if self.announced.pop(article_id, None) is not None:  # frozen again
                    self.irregular[article_id] = (
                        *self._numbers(article_id, key(article_id)), number)
            self.archives.append(Bucket(tuple(bucket), array("q", map(updated, bucket))))
            made.append(number)
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
