"""What must survive restarts, in SQLite (WAL) outside the published folder.

First-seen times (the release time of undated articles), content hashes and the
time each article last changed (its ``updated``), slugs once given, when a tag
last changed, and the last good articles of each seed file that now fails to
parse (so that a restart does not unpublish them). Nothing here is needed to
compute an id: deleting the file changes no id, only the dates of undated
articles, the order of slug claims and what a broken file keeps published.

A missing or unreadable database is rebuilt, with a warning, never a crash.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from service.model import Article

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    first_seen REAL NOT NULL,      -- epoch seconds when the publisher first saw it
    content_hash TEXT NOT NULL,
    changed REAL                   -- epoch seconds of its last edit; NULL: never edited
);
CREATE TABLE IF NOT EXISTS tags (
    key TEXT PRIMARY KEY,          -- identity.tag_key
    slug TEXT NOT NULL UNIQUE,     -- once given, never changes
    emptied REAL                   -- when it lost its last article; NULL while it has some
);
CREATE TABLE IF NOT EXISTS kept (
    path TEXT PRIMARY KEY,         -- a seed file that fails to parse, relative to seeds/
    articles TEXT NOT NULL         -- JSON: its last good articles, which stay published
);
"""


class Seen(NamedTuple):
    """What the state remembers of one article (a tuple: 100,000 are made per cold build)."""

    first_seen: float
    content_hash: str
    changed: float | None


class State:
    """The publisher's memory; one writer (the publisher) at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []
        self._db = self._open()
        self.articles: dict[str, Seen] = self._load_articles()
        self.slugs: dict[str, str] = dict(self._db.execute("SELECT key, slug FROM tags"))
        self.emptied: dict[str, float] = dict(self._db.execute(
            "SELECT key, emptied FROM tags WHERE emptied IS NOT NULL"))
        self.kept: set[str] = {path for (path,) in self._db.execute("SELECT path FROM kept")}

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            message = (f"state database {self.path} is unreadable ({exc}); moved it to "
                       f"{aside.name} and starting afresh: undated articles will be dated now")
            log.warning(message)
            self.warnings.append(message)
            self.path.replace(aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.execute("SELECT count(*) FROM articles").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _load_articles(self) -> dict[str, Seen]:
        rows = self._db.execute("SELECT id, first_seen, content_hash, changed FROM articles")
        return {row[0]: Seen(row[1], row[2], row[3]) for row in rows}

    def remember_articles(self, seen: dict[str, Seen]) -> None:
        """Store new or changed article records (one transaction)."""
        if not seen:
            return
        self.articles.update(seen)
        with self._transaction():
            self._db.executemany(
                "INSERT INTO articles VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "content_hash = excluded.content_hash, changed = excluded.changed",
                [(key, s.first_seen, s.content_hash, s.changed) for key, s in seen.items()])

    def claim_slugs(self, claims: dict[str, str]) -> None:
        """Record slugs given to new tags; they are never given to another tag."""
        if not claims:
            return
        self.slugs.update(claims)
        with self._transaction():
            self._db.executemany("INSERT INTO tags (key, slug) VALUES (?, ?)", claims.items())

    def mark_emptied(self, emptied: dict[str, float | None]) -> None:
        """Record when tags lost their last article (None: it has articles again)."""
        if not emptied:
            return
        for key, when in emptied.items():
            if when is None:
                self.emptied.pop(key, None)
            else:
                self.emptied[key] = when
        with self._transaction():
            self._db.executemany("UPDATE tags SET emptied = ? WHERE key = ?",
                                 [(when, key) for key, when in emptied.items()])

    def keep(self, path: str, articles: Sequence[Article]) -> None:
        """Remember the last good articles of a file that now fails to parse."""
        data = json.dumps([_article_row(a) for a in articles], ensure_ascii=False)
        self.kept.add(path)
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO kept VALUES (?, ?)", (path, data))

    def kept_articles(self, path: str) -> tuple[Article, ...]:
        """What ``keep`` remembered of ``path`` (nothing if it did not, or if unreadable)."""
        if path not in self.kept:
            return ()
        row = self._db.execute("SELECT articles FROM kept WHERE path = ?", (path,)).fetchone()
        try:
            return tuple(_article_of(fields) for fields in json.loads(row[0]))
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("kept articles of %s are unreadable (%s); they are dropped", path, exc)
            return ()

    def forget_kept(self, paths: Iterable[str]) -> None:
        """The files parse again, or are gone: their kept articles are of no use."""
        gone = [path for path in paths if path in self.kept]
        if not gone:
            return
        self.kept.difference_update(gone)
        with self._transaction():
            self._db.executemany("DELETE FROM kept WHERE path = ?", [(p,) for p in gone])

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def _article_row(article: Article) -> dict[str, Any]:
    """An article as JSON, every field: it is published again from this alone."""
    return {"id": article.id, "title": article.title, "tags": list(article.tags),
            "published": article.published.isoformat() if article.published else None,
            "paragraphs": list(article.paragraphs), "summary": article.summary,
            "source": article.source, "line": article.line, "markup": article.markup,
            "link": article.link, "author": article.author}


def _article_of(row: dict[str, Any]) -> Article:
    published = row["published"]
    return Article(row["id"], row["title"], tuple(row["tags"]),
                   datetime.fromisoformat(published) if published else None,
                   tuple(row["paragraphs"]), row["summary"], row["source"], row["line"],
                   row["markup"], row["link"], row["author"])


@lru_cache(maxsize=4096)
def to_datetime(epoch: float) -> datetime:
    """Stored epoch seconds as an aware UTC datetime, whole seconds (feeds show seconds).
    Cached: the articles first seen in one pass share one time."""
    return datetime.fromtimestamp(int(epoch), UTC)
