"""The tables of the hub's database (``store``), and the upgrade of an older file.

Version 2 added the callback's host to subscriptions and requests, indexed, so that
the caps on subscriptions per callback host are one indexed count, not a scan of
every callback. A version 1 file is upgraded in place, in one transaction, when it
is opened; nothing in it is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

SCHEMA_VERSION = 2
TABLES = ("hub_meta", "subscriptions", "requests", "published", "outbox")
SUBSCRIPTION_COLUMNS = "topic, callback, secret, lease_seconds, expires, verified"
REQUEST_COLUMNS = ("id, topic, callback, mode, secret, lease_seconds, verify_token, "
                   "received, attempts, due")
_TABLES = """
CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    secret TEXT,                    -- NULL: the subscriber gave none, pushes go unsigned
    lease_seconds INTEGER NOT NULL,
    expires REAL NOT NULL,          -- epoch seconds: the lease ends
    verified REAL NOT NULL,         -- epoch seconds of the verification that made it
    host TEXT NOT NULL DEFAULT '',  -- the callback's host, lower-case (host_of)
    PRIMARY KEY (topic, callback)
);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    mode TEXT NOT NULL,             -- subscribe | unsubscribe
    secret TEXT,
    lease_seconds INTEGER NOT NULL, -- granted, within the hub's bounds
    verify_token TEXT,              -- echoed to subscribers of PubSubHubbub 0.3
    received REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL,              -- when to ask the callback (again)
    host TEXT NOT NULL DEFAULT '',
    UNIQUE (topic, callback)
);
CREATE TABLE IF NOT EXISTS published (
    topic TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL            -- the content last handed to the outbox
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    sha256 TEXT NOT NULL,           -- the content to deliver: a newer one replaces it
    queued REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL,
    last_error TEXT,
    UNIQUE (topic, callback)
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS subscriptions_host ON subscriptions (host);
CREATE INDEX IF NOT EXISTS requests_host ON requests (host);
"""


class Database(Protocol):
    """What the upgrade needs of a connection inside a transaction."""

    def execute(self, sql: str, parameters: Any = (), /) -> Any: ...

    def create_function(self, name: str, narg: int, func: Callable[..., Any] | None, *,
                        deterministic: bool = False) -> None: ...


def host_of(callback: str) -> str:
    """The host a callback URL names, lower-case ('' if none)."""
    try:
        return (urlsplit(callback).hostname or "").lower()
    except ValueError:
        return ""


def create(db: Database, version: int | None) -> None:
    """Make the tables (upgrading those of an older ``version``) and the indexes, and
    record this version; inside the caller's transaction."""
    for statement in _TABLES.split(";"):
        if statement.strip():
            db.execute(statement)
    if version == 1:
        db.create_function("host_of", 1, host_of, deterministic=True)
        for table in ("subscriptions", "requests"):
            db.execute(f"ALTER TABLE {table} ADD COLUMN host TEXT NOT NULL DEFAULT ''")
            db.execute(f"UPDATE {table} SET host = host_of(callback)")
    for statement in _INDEXES.split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("INSERT OR REPLACE INTO hub_meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
