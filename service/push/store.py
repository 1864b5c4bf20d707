"""The hub's memory, in SQLite: subscriptions, the requests still to verify, and (for
``outbox``) the pushes still owed.

It is a file of its own beside the state, ``<state>.hub.sqlite``, not tables in the
state: the hub writes whenever a subscriber asks or a callback answers, from its own
threads, while a publish pass holds the state in long write transactions; SQLite
locks a whole file, so sharing one would make either wait for the other. Beside the
state it shares the state's lock (one publisher per state, so one hub per file) and
its checks (a folder, a device, a read-only or a newer file is refused at start-up;
a corrupt one is copied aside and started afresh, like the state). Its mode is 0600:
it holds the subscribers' secrets.

A request is kept apart from the subscription it would change, keyed by (topic,
callback): a newer request replaces a pending one, and a subscription changes only
when its request is verified, so a failed verification leaves the old one as it was.
Every change is one transaction, synchronous=FULL, so an answered request survives
a kill -9 and a power cut alike.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from service.catalog import statefile
from service.push import schema
from service.push.schema import REQUEST_COLUMNS, SCHEMA_VERSION, SUBSCRIPTION_COLUMNS, TABLES

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 5.0
class Transaction(Protocol):
    """What a block inside ``Store.writing`` does: statements of one transaction."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any: ...


class StoreError(Exception):
    """The hub's file could not be read or written just now (a full disk, say)."""


@dataclass(frozen=True)
class Subscription:
    topic: str
    callback: str
    secret: str | None
    lease_seconds: int
    expires: float
    verified: float


@dataclass(frozen=True)
class Pending:
    """A subscriber's request, waiting for its callback to confirm it."""

    id: int
    topic: str
    callback: str
    mode: str
    secret: str | None
    lease_seconds: int
    verify_token: str | None
    received: float
    attempts: int
    due: float


def hub_file(state: Path) -> Path:
    """Where the hub keeps its memory, beside the state (as the state's lock is)."""
    return state.with_name(state.name + ".hub.sqlite")


class Store:
    """The hub's database; safe to use from any thread (one connection, one lock)."""

    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path, self.busy_timeout = path, busy_timeout
        statefile.check_kind(path)
        self._lock = threading.Lock()
        if self._corrupt():
            aside = statefile.copy_aside(path)
            statefile.start_afresh(path)
            log.warning("the hub's database %s is corrupt; copied it to %s and started "
                        "afresh: subscribers must subscribe again", path, aside.name)
        self._db = self._connect()

    def _corrupt(self) -> bool:
        if not self.path.exists() or not self.path.stat().st_size:
            return False
        try:
            db = sqlite3.connect(self.path.absolute().as_uri() + "?mode=ro", uri=True,
                                 timeout=self.busy_timeout)
            try:
                return [row[0] for row in db.execute("PRAGMA quick_check")] != ["ok"]
            finally:
                db.close()
        except sqlite3.Error as exc:
            if statefile.is_corruption(exc):
                return True
            raise statefile.startup_error(self.path, exc, self.busy_timeout) from exc

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)
            db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                 check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise statefile.refusal(self.path, f"cannot be opened ({exc})",
                                    "check its permissions and the disk it is on") from None
        try:
            tables = {name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")} - {"sqlite_sequence"}
            if tables and not tables & set(TABLES):
                raise statefile.refusal(self.path, "is another program's database",
                                        "move it away, or name another --state")
            version = db.execute("SELECT value FROM hub_meta WHERE key = 'schema'").fetchone() \
                if "hub_meta" in tables else None
            if version and (not str(version[0]).isdigit() or int(version[0]) > SCHEMA_VERSION):
                raise statefile.refusal(self.path, f"was written by a newer seedfeeds (schema "
                                        f"{version[0]})", "upgrade seedfeeds")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN IMMEDIATE")
            schema.create(db, int(version[0]) if version else None)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.close()
            raise statefile.startup_error(self.path, exc, self.busy_timeout) from exc
        except BaseException:
            db.close()
            raise
        return db

    @contextlib.contextmanager
    def writing(self, doing: str) -> Iterator[Transaction]:
        """One transaction, for this module and the outbox's: committed at the end of
        the block, rolled back on any error; SQLite's errors become StoreError."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"hub database {self.path}: could not {doing} ({exc})") \
                    from exc

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """The rows one query finds; SQLite's errors become StoreError."""
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"hub database {self.path}: could not read ({exc})") from exc

    def request(self, topic: str, callback: str, mode: str, secret: str | None,
                lease_seconds: int, verify_token: str | None, now: float) -> int:
        """Record a request to verify now, replacing one pending for (topic, callback);
        its id."""
        with self.writing("record a subscription request") as db:
            db.execute("DELETE FROM requests WHERE topic = ? AND callback = ?",
                       (topic, callback))
            cursor = db.execute(
                "INSERT INTO requests (topic, callback, mode, secret, lease_seconds, "
                "verify_token, received, due, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (topic, callback, mode, secret, lease_seconds, verify_token, now, now,
                 schema.host_of(callback)))
            return int(cursor.lastrowid or 0)

    def pending(self) -> int:
        """Requests waiting for verification."""
        return int(self.rows("SELECT count(*) FROM requests")[0][0])

    def due(self, now: float, limit: int = 1000) -> list[Pending]:
        """Requests whose callback is to be asked by ``now``, the longest waiting first."""
        rows = self.rows(f"SELECT {REQUEST_COLUMNS} FROM requests WHERE due <= ? "
                          "ORDER BY due, id LIMIT ?", now, limit)
        return [Pending(*row) for row in rows]

    def next_due(self) -> float | None:
        """When the next request is due (None: none is pending)."""
        row = self.rows("SELECT min(due) FROM requests")[0]
        return None if row[0] is None else float(row[0])

    def confirm(self, request: Pending, asked: float) -> bool:
        """The callback confirmed ``request`` (asked at ``asked``): subscribe makes or
        replaces the subscription, its lease from ``asked``; unsubscribe ends it. False
        if a newer request replaced this one meanwhile (nothing changes then)."""
        with self.writing("record a verified request") as db:
            if not db.execute("DELETE FROM requests WHERE id = ?", (request.id,)).rowcount:
                return False
            if request.mode == "subscribe":
                db.execute(f"INSERT OR REPLACE INTO subscriptions ({SUBSCRIPTION_COLUMNS}, "
                           "host) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (request.topic, request.callback, request.secret,
                            request.lease_seconds, asked + request.lease_seconds, asked,
                            schema.host_of(request.callback)))
            else:
                db.execute("DELETE FROM subscriptions WHERE topic = ? AND callback = ?",
                           (request.topic, request.callback))
            return True

    def retry(self, request: Pending, due: float) -> bool:
        """Ask again at ``due``; False if the request was replaced meanwhile."""
        with self.writing("reschedule a verification") as db:
            return bool(db.execute("UPDATE requests SET attempts = attempts + 1, due = ? "
                                   "WHERE id = ?", (due, request.id)).rowcount)

    def drop(self, request: Pending) -> bool:
        """Forget ``request`` unverified; the subscription, if any, stays as it was."""
        with self.writing("drop a request") as db:
            return bool(db.execute("DELETE FROM requests WHERE id = ?",
                                   (request.id,)).rowcount)

    def subscription(self, topic: str, callback: str) -> Subscription | None:
        rows = self.rows(f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE topic = ? "
                         "AND callback = ?", topic, callback)
        return Subscription(*rows[0]) if rows else None

    def active(self, topic: str, now: float) -> list[Subscription]:
        """The subscriptions of ``topic`` whose lease has not ended by ``now``."""
        rows = self.rows(f"SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE topic = ? "
                         "AND expires > ? ORDER BY callback", topic, now)
        return [Subscription(*row) for row in rows]

    def held_by(self, host: str) -> int:
        """Subscriptions and subscribe requests pending for callbacks on ``host``."""
        return int(self.rows(
            "SELECT (SELECT count(*) FROM subscriptions WHERE host = ?) + (SELECT count(*) "
            "FROM requests WHERE host = ? AND mode = 'subscribe')", host, host)[0][0])

    def total(self) -> int:
        """Subscriptions and subscribe requests pending, for every host."""
        return int(self.rows("SELECT (SELECT count(*) FROM subscriptions) + (SELECT count(*) "
                             "FROM requests WHERE mode = 'subscribe')")[0][0])

    def expire(self, now: float) -> int:
        """Forget the subscriptions whose lease ended by ``now``; how many there were."""
        with self.writing("forget ended leases") as db:
            return int(db.execute("DELETE FROM subscriptions WHERE expires <= ?",
                                  (now,)).rowcount)

    def close(self) -> None:
        with self._lock:
            self._db.close()
