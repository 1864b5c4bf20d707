"""The only writer of feeds/: atomic files, .gz siblings, the manifest.

Every file is written to a temp file in its own folder and renamed over the
old one, so a reader never sees half a file. A file whose bytes did not change
is not touched (its mtime and ETag hold). The manifest, ``index.json``, gives
each file's size, sha256 (the web's strong ETag) and the time its bytes last
changed (Last-Modified). Article pages, 100,000 in a large site, and frozen
archive documents, tens of thousands, are left out of the manifest
(``layout.unlisted``) so that one new article does not rewrite a 15 MB index: the web
hashes those small files itself, and a file of theirs is published when it exists.

A listed file's .gz sibling is written with it; the file and its sibling get their
rows together, once both are written, so a sibling that failed leaves the file's old
row, and the next pass writes both again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring_ascii as _json_string
from pathlib import Path

from service import layout
from service.publish import atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """One manifest row."""

    size: int
    sha256: str
    updated: str  # ISO 8601, UTC

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "sha256": self.sha256, "updated": self.updated}

    def row(self, path: str) -> str:
        """``json.dumps({path: self.to_json()}, separators=(",", ":"))[1:-1]``, written
        out: the path is the one string to escape (a digest and a date never need it),
        and 1,600 rows take 0.6 ms where json.dumps took 10 ms."""
        return (f'{_json_string(path)}:{{"size":{self.size},"sha256":"{self.sha256}",'
                f'"updated":"{self.updated}"}}')


@dataclass
class WriteCount:
    written: int = 0
    unchanged: int = 0
    removed: int = 0

    def add(self, other: WriteCount) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.removed += other.removed


@dataclass
class Changes:
    """What a writer did since it was last asked: counts, new manifest rows, and the
    unlisted files (article pages, archives) written and removed."""

    count: WriteCount = field(default_factory=WriteCount)
    records: dict[str, Record] = field(default_factory=dict)
    pages: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)


class SiteWriter:
    """Writes files under ``root``; remembers what it wrote in the manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._prefix = f"{root}{os.sep}"
        root.mkdir(parents=True, exist_ok=True)
        self.manifest: dict[str, Record] = _load_manifest(root / layout.MANIFEST)
        self._manifest_changed = False
        # The unlisted files (article pages, archives) found at start, until a first pass
        # is done: it compares its pages with those there, and writes the rest unread.
        # Later passes compare with the disk (a name of each of a million pages held for
        # good would be a tenth of the publisher's memory).
        self._found: set[str] | None = unlisted_files(root)
        self.changes = Changes()
        self._rows: dict[str, tuple[Record, str]] = {}  # path -> its manifest row, as text

    def write(self, path: str, data: bytes, now: datetime) -> bool:
        """Write ``data`` to ``path`` (and its .gz sibling) unless already there. The
        file and its sibling get their rows once both are written: if the sibling cannot
        be, the error is raised here and the file keeps its old row, so the next pass
        writes both again."""
        if layout.unlisted(path):
            return self._write_page(path, data)
        old = self.manifest.get(path)
        target = self._prefix + path
        digest = _sha256(data)
        if old is not None and old.sha256 == digest and _has_size(target, len(data)):
            self.changes.count.unchanged += 1
            return False
        atomic.write(target, data)
        if layout.compressed(path):
            packed = atomic.gzipped(data)
            atomic.write(f"{target}.gz", packed)
            self._record(f"{path}.gz", len(packed), _sha256(packed), now)
        self._record(path, len(data), digest, now)
        self.changes.count.written += 1
        return True

    def _write_page(self, path: str, data: bytes) -> bool:
        """An unlisted file: no manifest row, no .gz; compared with the bytes on disk."""
        target = self._prefix + path
        there = self._found is None or path in self._found
        if there and _same_bytes(target, data):
            self.changes.count.unchanged += 1
            return False
        atomic.write(target, data)
        self.changes.pages.add(path)
        self.changes.count.written += 1
        return True

    def remove(self, path: str) -> None:
        """Remove a published file (and its .gz sibling), if it exists. Forgotten only
        once it is gone: a file that cannot be removed stays listed, and is tried again."""
        for name in (path, f"{path}.gz"):
            try:
                os.unlink(self._prefix + name)
                existed = True
            except FileNotFoundError:
                existed = False
            existed = self.manifest.pop(name, None) is not None or existed
            if self._found is not None:
                self._found.discard(name)
            if existed and layout.unlisted(name):
                self.changes.gone.add(name)
            if existed:
                self._manifest_changed = True
                self.changes.count.removed += name == path

    def settled(self) -> None:
        """A pass is done: from now on a page is compared with the disk's."""
        self._found = None

    def intact(self, unlisted: Iterable[str] = ()) -> bool:
        """Every file this writer published is still there, at its size, and so are the
        ``unlisted`` files (the article pages and archives the site has): False after
        ``rm -rf feeds/``, a restore of an old copy or a damaged disk, which the next
        pass then rebuilds. A stat per listed file, one listing of the article pages and
        one walk of the archives (no stat for those: 100,000 stats would cost a second)."""
        if not os.path.isfile(self._prefix + layout.MANIFEST) and self.manifest:
            return False
        for path, record in self.manifest.items():
            if not _has_size(self._prefix + path, record.size):
                return False
        there: set[str] | None = None
        for path in unlisted:
            if there is None:
                there = unlisted_files(self.root)
            if path not in there:
                return False
        return True

    def published(self, path: str) -> bytes | None:
        """A listed file's bytes as this writer published them (None: not listed, or
        not what its manifest row says, as a hand-edited or damaged file)."""
        record = self.manifest.get(path)
        if record is None:
            return None
        data = _read(self._prefix + path, record.size + 1)
        return data if data is not None and _sha256(data) == record.sha256 else None

    def files(self) -> set[str]:
        """Every file there is of those this writer publishes, .gz siblings excluded; in a
        first pass, of the unlisted ones, those found at start (no walk of the folder: its
        callers look for files nothing wants, and what the pass wrote since is wanted)."""
        found = self._found if self._found is not None else unlisted_files(self.root)
        return {p for p in self.manifest if not p.endswith(".gz")} | found

    def save_manifest(self) -> bool:
        """Write index.json if any file changed; True if it was written.

        It is ``json.dumps({"version": 1, "files": rows}, separators=(",", ":"))``, put
        together from each row's text, kept while its record is the same: a pass changes a
        few dozen of a large site's 1,600 rows, and encoding them all cost a tenth of it.
        """
        if not self._manifest_changed:
            return False
        rows, kept = {}, self._rows
        for path in sorted(self.manifest):
            record = self.manifest[path]
            held = kept.get(path)
            if held is None or held[0] is not record:
                held = (record, record.row(path))
            rows[path] = held
        self._rows = rows
        data = f'{{"version":1,"files":{{{",".join(text for _, text in rows.values())}}}}}\n'
        atomic.write(self._prefix + layout.MANIFEST, data.encode())
        self._manifest_changed = False
        return True

    def write_status(self, data: bytes) -> None:
        """status.json changes on every pass; it is not in the manifest."""
        atomic.write(self._prefix + layout.STATUS, data)

    def take_changes(self) -> Changes:
        """What was written since the last call (and forget it)."""
        changes, self.changes = self.changes, Changes()
        return changes

    def merge(self, changes: Changes) -> None:
        """Learn what another writer (a worker process) wrote into the same folder."""
        self.changes.count.add(changes.count)
        self.changes.records.update(changes.records)
        self.changes.pages |= changes.pages
        self.changes.gone |= changes.gone
        self.manifest.update(changes.records)
        self._manifest_changed |= bool(changes.records)

    def _record(self, path: str, size: int, digest: str, now: datetime) -> None:
        record = Record(size, digest, now.isoformat())
        self.manifest[path] = self.changes.records[path] = record
        self._manifest_changed = True


def unlisted_files(root: Path) -> set[str]:
    """The article pages and archive documents under ``root`` (paths under it), found by
    one listing of articles/ and a walk of archive/: plain os calls, no stat per file.
    Dotted names (the temp files of a write in flight) are left out."""
    prefix = f"{root}{os.sep}"
    try:
        found = {f"articles/{name}" for name in os.listdir(prefix + "articles")
                 if name.endswith(".html") and not name.startswith(".")}
    except OSError:  # missing (a new site), or not a folder: no page is there
        found = set()
    for folder, folders, names in os.walk(prefix + layout.ARCHIVE):
        folders[:] = [name for name in folders if not name.startswith(".")]
        under = folder[len(prefix):].replace(os.sep, "/")
        found.update(f"{under}/{name}" for name in names if not name.startswith("."))
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _has_size(path: str, size: int) -> bool:
    try:
        return os.stat(path).st_size == size
    except OSError:
        return False


def _same_bytes(path: str, data: bytes) -> bool:
    return _read(path, len(data) + 1) == data


def _read(path: str, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as stream:
            return stream.read(limit)
    except OSError:
        return None


def _load_manifest(path: Path) -> dict[str, Record]:
    try:
        rows = json.loads(path.read_bytes())["files"]
        return {name: Record(int(r["size"]), str(r["sha256"]), str(r["updated"]))
                for name, r in rows.items()}
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("manifest %s is unreadable (%s); every file will be checked again",
                    path, exc)
        return {}
