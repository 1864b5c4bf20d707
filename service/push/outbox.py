"""The hub's outbox: which feed content each subscriber is still owed, in the hub's
database (``store``), so that a push survives a crash, a restart and a failing callback.

What the hub last saw of each topic is recorded beside it (``published``): a topic whose
content differs from the record has changed, whether while the hub ran or while it was
stopped, and its subscribers are owed it. Recording and queuing are one transaction.
One row per (topic, callback): a newer content replaces a pending retry and starts its
schedule afresh, so a subscriber gets the latest feed once, never a backlog of old ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.push.store import Store

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


class Outbox:
    """The deliveries pending in ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

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
                callbacks = [row[0] for row in db.execute(
                    "SELECT callback FROM subscriptions WHERE topic = ? AND expires > ?",
                    (topic, now)).fetchall()]
                for callback in callbacks:
                    db.execute("DELETE FROM outbox WHERE topic = ? AND callback = ?",
                               (topic, callback))
                    db.execute("INSERT INTO outbox (topic, callback, sha256, queued, due) "
                               "VALUES (?, ?, ?, ?, ?)", (topic, callback, sha256, now, now))
                queued += len(callbacks)
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

    def done(self, delivery: Delivery) -> bool:
        """Delivered (or given up): forget it, unless newer content replaced it."""
        with self.store.writing("record a push") as db:
            return bool(db.execute("DELETE FROM outbox WHERE id = ?",
                                   (delivery.id,)).rowcount)

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
