"""The bucket's record of itself: for every object the mirror put there, the sha256 of
its bytes, the digest of its headers, its size and the ETag the store gave it.

It lives in the bucket, under ``PREFIX/.seedfeeds/manifest/``, split into parts
(``objects.shard_of``) so that a pass that adds one article rewrites three or four
small parts, not a record of 100,000 rows. A part is written only after the objects it
lists, with ``If-Match`` on the ETag it had (``If-None-Match: *`` for a new one), so two
writers cannot silently overwrite each other's record. At start the record is checked
against a listing of the prefix: a row whose object is gone or has another size or ETag
is dropped (that object is uploaded again), and an object the record does not know is
a stray (deleted, or overwritten if it is wanted). So a restart resumes from what the
bucket really holds, whatever happened to it meanwhile.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, TypeVar

from service.mirror import objects
from service.mirror.aws import Bucket, NotFound, PreconditionFailed, StoreError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
VERSION = 1
PARTS = f"{objects.OWN}manifest/"


class Row(NamedTuple):
    """What the bucket holds at one path (a tuple: 100,000 of them stay in memory)."""

    sha256: str
    headers: str  # objects.Headers.digest
    size: int
    etag: str


class Conflict(StoreError):
    """Another writer changed the bucket's record: two publishers on one prefix."""


class Ledger:
    """The record, in memory, of what the bucket holds; ``save`` writes its changed parts."""

    def __init__(self, bucket: Bucket, owner: str, workers: int = 16) -> None:
        self.bucket, self.owner, self.workers = bucket, owner, workers
        self.rows: dict[str, Row] = {}
        self._parts: dict[str, set[str]] = {}  # part -> its paths, so a save reads only those
        self.strays: set[str] = set()  # objects in the prefix the record does not know
        self._etags: dict[str, str] = {}  # part -> the ETag of its object, as last seen
        self._dirty: set[str] = set()
        self.loaded = False

    # --- reading ----------------------------------------------------------------------

    def load(self) -> None:
        """Read every part, then check each row against a listing of the prefix."""
        names = [item.path for item in self.bucket.list(PARTS) if item.path.endswith(".json")]
        rows: dict[str, Row] = {}
        for part, etag, found in self._map(self._read_part, names):
            self._etags[part] = etag
            rows.update(found)
        listed = {item.path: item for item in self.bucket.list()
                  if not item.path.startswith(objects.OWN)}
        self.rows, self.strays, self._dirty, self._parts = {}, set(), set(), {}
        for path, row in rows.items():
            item = listed.get(path)
            if item is not None and item.size == row.size and item.etag == row.etag:
                self.rows[path] = row
                self._parts.setdefault(objects.shard_of(path), set()).add(path)
            else:  # gone, or changed behind our back: forgotten, so uploaded again
                self._dirty.add(objects.shard_of(path))
        self.strays = set(listed) - self.rows.keys()
        self.loaded = True
        if self._dirty or self.strays:
            log.info("mirror: the bucket's record lacks %d objects and %d are unknown to it",
                     len(rows) - len(self.rows), len(self.strays))

    def _read_part(self, name: str) -> tuple[str, str, dict[str, Row]]:
        part = name[len(PARTS):-len(".json")]
        fetched = self.bucket.get(name)
        try:
            data = json.loads(fetched.body)
            found = {path: Row(sha, sys.intern(headers), int(size), etag)
                     for path, (sha, headers, size, etag) in data["objects"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("mirror: %s is unreadable (%s): its objects are uploaded again",
                        name, exc)
            found = {}
        return part, fetched.etag, found

    # --- changing ---------------------------------------------------------------------

    def record(self, path: str, row: Row) -> None:
        part = objects.shard_of(path)
        self.rows[path] = row
        self._parts.setdefault(part, set()).add(path)
        self.strays.discard(path)
        self._dirty.add(part)

    def forget(self, path: str) -> None:
        if self.rows.pop(path, None) is not None:
            part = objects.shard_of(path)
            self._parts[part].discard(path)
            self._dirty.add(part)
        self.strays.discard(path)

    @property
    def dirty(self) -> bool:
        return bool(self._dirty)

    # --- writing ----------------------------------------------------------------------

    def save(self) -> int:
        """Write every changed part (after the objects it lists); how many were written."""
        parts = {part: {path: self.rows[path] for path in self._parts.get(part, ())}
                 for part in self._dirty}
        written = 0
        for part, _etag, _rows in self._map(lambda item: self._write_part(*item),
                                             list(parts.items())):
            self._dirty.discard(part)
            written += 1
        return written

    def _write_part(self, part: str, rows: dict[str, Row]) -> tuple[str, str, None]:
        name = f"{PARTS}{part}.json"
        etag = self._etags.get(part)
        if not rows and etag is None:
            return part, "", None  # an emptied part is written empty: no conditional delete
        body = json.dumps({"version": VERSION, "writer": self.owner,
                           "objects": {p: list(rows[p]) for p in sorted(rows)}},
                          separators=(",", ":"), ensure_ascii=False).encode()
        try:
            new = self.bucket.put(name, body, "application/json", "no-store",
                                  if_match=etag, if_none_match=etag is None)
        except PreconditionFailed:
            new = self._already_there(name, body)
        self._etags[part] = new
        return part, new, None

    def _already_there(self, name: str, body: bytes) -> str:
        """After a refused conditional write: our own earlier write whose answer was lost
        (the part names this writer; it is written again), or another writer's (Conflict)."""
        try:
            fetched = self.bucket.get(name)
        except NotFound:
            fetched = None
        if fetched is not None and _writer(fetched.body) == self.owner:
            if fetched.body == body:
                return fetched.etag
            return self.bucket.put(name, body, "application/json", "no-store",
                                   if_match=fetched.etag)
        raise Conflict(f"another publisher changed the bucket's record ({name}) under this "
                       "one: run one publisher per bucket prefix")

    def _map(self, work: Callable[[T], R], items: Iterable[T]) -> list[R]:
        listed = list(items)
        if len(listed) <= 1:
            return [work(item) for item in listed]
        with ThreadPoolExecutor(min(self.workers, len(listed)),
                                thread_name_prefix="mirror-record") as pool:
            return list(pool.map(work, listed))


def _writer(body: bytes) -> object:
    try:
        return json.loads(body).get("writer")
    except (ValueError, AttributeError):
        return None
