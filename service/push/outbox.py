"""The hub's outbox: which feed content each subscriber is still owed, in the hub's
database (``store``), so that a push survives a crash, a restart and a failing callback.

What the hub last saw of each topic is recorded beside it (``published``): a topic whose
content differs from the record has changed, whether while the hub ran or while it was
stopped, and its subscribers are owed it. Recording and queuing are one transaction.
One row per (topic, callback): a newer content replaces a pending retry and starts its
schedule afresh, so a subscriber gets the latest feed once, never a backlog of old ones.

A delivery made is forgotten (``done``) in a group commit: the pushes that finish
while one commit is on its way to the disk are forgotten together in the next, so a
burst of 1,000 pushes costs a few dozen fsyncs (synchronous=FULL), not 1,000 one
after the other under the store's lock. ``done`` still returns only once its row is
gone from the disk, so what is owed is never forgotten early: a kill -9 before that
costs a push made again, never one lost.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from service.push.store import Store, StoreError

_COLUMNS = "id, topic, callback, sha256, queued, attempts, due, last_error"


@dataclass(frozen=True)
class Delivery:
    """A feed's content owed to one subscriber."""

    id: int
    topic: str
    callback: str
    sha256: str  # of the content when it was queued (what is sent is the file then)
    queued: float
    attempts: int
    due: float
    last_error: str | None


@dataclass
class _Batch:
    """Deliveries made, to forget in one commit."""

    ids: list[int] = field(default_factory=list)
    committed: bool = False
    forgotten: set[int] = field(default_factory=set)  # a replaced one's row is gone already
    error: StoreError | None = None


class Outbox:
    """The deliveries pending in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._changed = threading.Condition()
        self._open = _Batch()  # what the next commit forgets
        self._committing = False

    def published(self) -> dict[str, str]:
        """The content last seen of each topic: its sha256, by topic URL."""
        return dict(self.store.rows("SELECT topic, sha256 FROM published"))

    def queue(self, changed: dict[str, str], now: float, deliver: bool = True) -> int:
        """Record the topics' new content (sha256 by topic) and, if ``deliver``, owe it
        to every subscriber whose lease runs at ``now``; how many deliveries that made."""
        queued = 0
        with self.store.writing("queue pushes") as db:
            for topic, sha256 in changed.items():
                db.execute("INSERT OR REPLACE INTO published VALUES (?, ?)", (topic, sha256))
                if not deliver:
                    continue
                # One statement for all of a topic's subscribers, in SQLite's C: a row
                # pending for (topic, callback) is replaced, with a new id, as if deleted
                # and inserted (UNIQUE (topic, callback)).
                queued += db.execute(
                    "INSERT OR REPLACE INTO outbox (topic, callback, sha256, queued, due) "
                    "SELECT topic, callback, ?, ?, ? FROM subscriptions "
                    "WHERE topic = ? AND expires > ?", (sha256, now, now, topic, now)).rowcount
        return queued

    def pending(self) -> int:
        return int(self.store.rows("SELECT count(*) FROM outbox")[0][0])

    def due(self, now: float, limit: int = 1000) -> list[Delivery]:
        """Deliveries to make by ``now``, the longest waiting first."""
        rows = self.store.rows(f"SELECT {_COLUMNS} FROM outbox WHERE due <= ? "
                               "ORDER BY due, id LIMIT ?", now, limit)
        return [Delivery(*row) for row in rows]

    def next_due(self) -> float | None:
        row = self.store.rows("SELECT min(due) FROM outbox")[0]
        return None if row[0] is None else float(row[0])

    def next_due_after(self, now: float) -> float | None:
        """When the first delivery not yet due at ``now`` is (None: there is none)."""
        row = self.store.rows("SELECT min(due) FROM outbox WHERE due > ?", now)[0]
        return None if row[0] is None else float(row[0])

    def done(self, delivery: Delivery) -> bool:
        """Delivered (or given up): forget it, unless newer content replaced it (False
        then). Returns once the commit that forgets it is made (StoreError if that
        failed: the delivery is still owed). The caller that finds no commit under way
        makes one for every delivery that came in the meantime; the others wait."""
        with self._changed:
            batch = self._open
            batch.ids.append(delivery.id)
            while self._committing and not batch.committed:
                self._changed.wait()
            if not batch.committed:  # ours is the open batch and no commit is under way
                self._committing, self._open = True, _Batch()
        if not batch.committed:
            self._commit(batch)
        if batch.error is not None:
            raise batch.error
        return delivery.id in batch.forgotten

    def _commit(self, batch: _Batch) -> None:
        try:
            with self.store.writing("record pushes") as db:
                for number in batch.ids:
                    if db.execute("DELETE FROM outbox WHERE id = ?", (number,)).rowcount:
                        batch.forgotten.add(number)
        except StoreError as exc:
            batch.forgotten, batch.error = set(), exc
        except BaseException as exc:  # the waiters must not take it as made
            batch.forgotten = set()
            batch.error = StoreError(f"hub database {self.store.path}: could not record "
                                     f"pushes ({exc!r})")
            raise
        finally:
            with self._changed:
                batch.committed, self._committing = True, False
                self._changed.notify_all()

    def retry(self, delivery: Delivery, due: float, error: str) -> bool:
        """Try again at ``due``; False if newer content replaced it meanwhile."""
        with self.store.writing("reschedule a push") as db:
            return bool(db.execute(
                "UPDATE outbox SET attempts = attempts + 1, due = ?, last_error = ? "
                "WHERE id = ?", (due, error[:500], delivery.id)).rowcount)

    def gone(self, delivery: Delivery) -> None:
        """The subscriber answered 410 Gone: its subscription ends, and what it is owed."""
        with self.store.writing("end a subscription") as db:
            for table in ("subscriptions", "outbox"):
                db.execute(f"DELETE FROM {table} WHERE topic = ? AND callback = ?",
                           (delivery.topic, delivery.callback))
