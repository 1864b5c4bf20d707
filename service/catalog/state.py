"""What must survive restarts, in SQLite (WAL) outside the published folder.

First-seen times (the release time of undated articles), content hashes and the time
each article last changed, slugs once given, when a tag emptied, the last good articles
of each seed file that now fails to parse, and each feed's frozen archives. No id
depends on it: a lost state changes only dates of undated articles, slug claims, what a
broken file keeps published and how archives are cut.

So it is precious: never replaced because it cannot be used right now. A path that is
no SQLite file, or a read-only, foreign or newer state, is refused at start-up,
untouched. A state locked by another process is waited for, then the write fails with
``StateBusy`` and its pass is retried; memory changes only after a commit. Only a file
SQLite itself reports as corrupt is copied aside (with ``-wal`` and ``-shm``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path

from service.catalog import keptrows, statefile
from service.catalog.records import Bucket, Seen, archived_of
from service.config import Settings
from service.model import Article

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 5.0  # seconds an operation waits for another process's lock on the state

SCHEMA_VERSION = 1
TABLES = ("meta", "articles", "tags", "kept", "archives")
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
CREATE TABLE IF NOT EXISTS archives (
    feed TEXT NOT NULL,            -- a tag key, or '' for the all feed
    number INTEGER NOT NULL,       -- of the feed's archive documents, 1 the oldest
    entries TEXT NOT NULL,         -- "id updated,id updated,...": oldest first, epoch s
    PRIMARY KEY (feed, number)
);
"""


def open_state(settings: Settings, busy_timeout: float = BUSY_TIMEOUT) -> State:
    """The state of these settings, once ``statefile.check_state`` accepts its path."""
    statefile.check_state(settings)
    return State(settings.state, busy_timeout)


class State:
    """The publisher's memory; one writer (the publisher) at a time."""

    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.warnings: list[str] = []
        statefile.check_kind(path)
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise statefile.refusal(self.path, f"cannot be created ({exc.strerror})",
                                    "name a file in a folder this user can write") from None
        new = False
        for _ in range(2):  # a second time only when loading found damage the check missed
            damage = self._damage()
            if damage is not None:
                message = statefile.set_aside(self.path, damage)
                log.warning(message)
                self.warnings.append(message)
                new = True
            db = self._connect()
            damage = self._prepared(db)
            if damage is None:
                return db
            db.close()
        raise statefile.refusal(self.path, f"is corrupt ({damage}) "
                                + ("even when new" if new else "though SQLite's quick check "
                                   "passes it"), "move it away, and check the disk it is on")

    def _damage(self) -> str | None:
        """What SQLite's quick_check finds wrong with the file (None: sound, or empty).
        Read-only: closing a read-only connection checkpoints nothing, so the -wal stays
        as it was found, to be copied aside with the rest."""
        if not self.path.exists() or not self.path.stat().st_size:
            return None
        try:
            db = sqlite3.connect(self.path.absolute().as_uri() + "?mode=ro", uri=True,
                                 timeout=self.busy_timeout)
        except sqlite3.Error:
            return None  # the read-write open says what is wrong
        try:
            report = [" ".join(str(row[0]).split()) for row in db.execute("PRAGMA quick_check")]
        except sqlite3.Error as exc:
            if statefile.is_corruption(exc):
                return str(exc)
            if statefile.is_busy(exc):
                raise statefile.startup_error(self.path, exc, self.busy_timeout) from exc
            return None  # a hot journal a reader cannot roll back: the read-write open will
        finally:
            db.close()
        if report == ["ok"]:
            return None
        return report[0] + (f" and {len(report) - 1} more" if report[1:] else "")

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(self.path, timeout=self.busy_timeout,
                                   isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise statefile.startup_error(self.path, exc, self.busy_timeout) from exc

    def _prepared(self, db: sqlite3.Connection) -> str | None:
        """Upgrade and load the database; what SQLite finds corrupt on the way, if
        anything. Any refusal closes ``db``."""
        try:
            tables = {name for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            self._check_schema(db, tables)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if not set(TABLES) <= tables or not db.execute(
                    "SELECT 1 FROM meta WHERE key = 'schema'").fetchone():
                db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} INSERT OR IGNORE INTO meta "
                                 f"VALUES ('schema', '{SCHEMA_VERSION}'); COMMIT;")
            self._load(db)
        except sqlite3.Error as exc:
            if statefile.is_corruption(exc):
                return str(exc)
            db.close()
            raise statefile.startup_error(self.path, exc, self.busy_timeout) from exc
        except BaseException:
            db.close()
            raise
        return None

    def _check_schema(self, db: sqlite3.Connection, tables: set[str]) -> None:
        if tables and not tables & set(TABLES):
            raise statefile.refusal(self.path, "is another program's SQLite database "
                                    f"(tables {', '.join(sorted(tables)[:5])})",
                                    "name a file of its own for seedfeeds")
        if "meta" not in tables:
            return
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = str(row[0]) if row else str(SCHEMA_VERSION)
        if not version.isdigit() or int(version) > SCHEMA_VERSION:
            raise statefile.refusal(self.path, f"was written by a newer seedfeeds (schema "
                                    f"{version}; this one knows up to {SCHEMA_VERSION})",
                                    "upgrade seedfeeds, or name another file")

    def _load(self, db: sqlite3.Connection) -> None:
        db.execute("SELECT count(*) FROM articles").fetchone()  # what a damaged table fails
        self.slugs: dict[str, str] = dict(db.execute("SELECT key, slug FROM tags"))
        self.emptied: dict[str, float] = dict(db.execute(
            "SELECT key, emptied FROM tags WHERE emptied IS NOT NULL"))
        self.kept: set[str] = {path for (path,) in db.execute("SELECT path FROM kept")}
        # feed ('' for all) -> its frozen archives, oldest first; each id read once, not
        self.archived: dict[str, list[Bucket]] = {}  # once in each of its five feeds
        names: dict[str, str] = {}
        for feed, entries in db.execute("SELECT feed, entries FROM archives ORDER BY 1, number"):
            self.archived.setdefault(feed, []).append(archived_of(entries, names))

    @contextlib.contextmanager
    def _writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One transaction, rolled back on any error; SQLite's errors become StateError."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise statefile.pass_error(self.path, exc, self.busy_timeout, doing) from exc

    def seen(self, ids: Collection[str] | None) -> Iterator[tuple[str, Seen]]:
        """The records of these articles (None: all) that the state has, one by one: read
        when a pass needs them, not held (a million would take a quarter of a gigabyte)."""
        query = "SELECT id, first_seen, content_hash, changed FROM articles"
        try:
            if ids is None or len(ids) > 2000:  # one scan beats thousands of lookups
                for row in self._db.execute(query):
                    if ids is None or row[0] in ids:
                        yield row[0], Seen(row[1], row[2], row[3])
                return
            for at in range(0, len(wanted := list(ids)), 500):
                chunk = wanted[at:at + 500]
                for row in self._db.execute(
                        f"{query} WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall():
                    yield row[0], Seen(row[1], row[2], row[3])
        except sqlite3.Error as exc:
            raise statefile.pass_error(self.path, exc, self.busy_timeout,
                                       "read article records") from exc

    def remember_articles(self, seen: Iterable[tuple[str, Seen]]) -> None:
        """Store new or changed article records (one transaction), taken one by one."""
        rows = iter(seen)
        first = next(rows, None)
        if first is None:
            return
        with self._writing("record articles") as db:
            db.executemany(
                "INSERT INTO articles VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "content_hash = excluded.content_hash, changed = excluded.changed",
                ((key, s.first_seen, s.content_hash, s.changed)
                 for key, s in itertools.chain((first,), rows)))

    def claim_slugs(self, claims: dict[str, str]) -> None:
        """Record slugs given to new tags; they are never given to another tag."""
        if not claims:
            return
        with self._writing("record tag slugs") as db:
            db.executemany("INSERT INTO tags (key, slug) VALUES (?, ?)", claims.items())
        self.slugs.update(claims)

    def mark_emptied(self, emptied: dict[str, float | None]) -> None:
        """Record when tags lost their last article (None: it has articles again)."""
        if not emptied:
            return
        with self._writing("record emptied tags") as db:
            db.executemany("UPDATE tags SET emptied = ? WHERE key = ?",
                           [(when, key) for key, when in emptied.items()])
        for key, when in emptied.items():
            if when is None:
                self.emptied.pop(key, None)
            else:
                self.emptied[key] = when

    def keep(self, path: str, articles: Sequence[Article]) -> None:
        """Remember the last good articles of a file that now fails to parse."""
        data = json.dumps([keptrows.article_row(a) for a in articles], ensure_ascii=False)
        with self._writing("keep the last good articles of a file") as db:
            db.execute("INSERT OR REPLACE INTO kept VALUES (?, ?)", (path, data))
        self.kept.add(path)

    def kept_articles(self, path: str) -> tuple[Article, ...]:
        """What ``keep`` remembered of ``path`` (nothing if it did not, or if unreadable)."""
        if path not in self.kept:
            return ()
        try:
            row = self._db.execute("SELECT articles FROM kept WHERE path = ?",
                                   (path,)).fetchone()
        except sqlite3.Error as exc:
            raise statefile.pass_error(self.path, exc, self.busy_timeout,
                                       "read the last good articles of a file") from exc
        try:
            return tuple(keptrows.article_of(fields) for fields in json.loads(row[0]))
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("kept articles of %s are unreadable (%s); they are dropped", path, exc)
            return ()

    def forget_kept(self, paths: Iterable[str]) -> None:
        """The files parse again, or are gone: their kept articles are of no use."""
        gone = [path for path in paths if path in self.kept]
        if not gone:
            return
        with self._writing("forget kept articles") as db:
            db.executemany("DELETE FROM kept WHERE path = ?", [(p,) for p in gone])
        self.kept.difference_update(gone)

    def record_archives(self, rows: Iterable[tuple[str, int, Sequence[tuple[str, int]]]]) -> None:
        """Record archives frozen, or rewritten without a deleted article, as (feed,
        number, entries) in one transaction; a feed's archives are numbered from 1."""
        done = sorted(((feed, number, held if isinstance(held, Bucket) else Bucket.of(held))
                       for feed, number, held in rows), key=lambda row: row[:2])
        if not done:
            return
        with self._writing("record archives") as db:
            db.executemany("INSERT OR REPLACE INTO archives VALUES (?, ?, ?)",
                           [(f, n, ",".join([f"{i} {u}" for i, u in e])) for f, n, e in done])
        for feed, number, entries in done:
            self.archived.setdefault(feed, [])[number - 1:number] = [entries]

    def close(self) -> None:
        self._db.close()
