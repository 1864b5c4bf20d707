"""The published feeds/ folder as the web reads it: manifest, status, and files opened
safely (no symlink, no FIFO, nothing outside the folder), with their validators.

The web keeps no state of the publisher: everything here is read from the folder,
and read again only when a file's identity (mtime, size, inode) changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from service import layout

log = logging.getLogger(__name__)

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NONBLOCK", 0))  # NONBLOCK: a planted FIFO must not hang us


class JsonFile:
    """A JSON file parsed again only when its (mtime_ns, size, inode) changes."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._cached: tuple[tuple[int, int, int] | None, Any] = (None, None)
        self.generation = 0  # counts reloads, so caches of what was read can tell
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The parsed content, or None if the file is missing or not valid JSON."""
        return self.current()[1]

    def current(self) -> tuple[int, Any]:
        """The generation and the parsed content (None if missing or not valid JSON)."""
        try:
            info = os.stat(self.path)
        except OSError:
            return -1, None
        if _identity(info) != self._cached[0]:
            with self._lock:  # one thread parses; the others wait for its result
                if _identity(info) != self._cached[0]:
                    self._cached = self._load()
                    self.generation += 1
        return self.generation, self._cached[1]

    def _load(self) -> tuple[tuple[int, int, int] | None, Any]:
        # Identity and bytes from the same open file, so a rename between stat and
        # read caches the new content under the new identity.
        try:
            with open(self.path, "rb") as stream:
                key, data = _identity(os.fstat(stream.fileno())), stream.read()
        except OSError:
            return None, None
        try:
            return key, json.loads(data)
        except ValueError as exc:
            log.warning("%s is not valid JSON (%s); treated as missing", self.path, exc)
            return key, None


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_mtime_ns, info.st_size, info.st_ino


class Hashes:
    """sha256 of files the manifest does not list (article pages, archives), by the file's
    identity."""

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._known: OrderedDict[tuple[str, int, int, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int, int]) -> str | None:
        with self._lock:
            digest = self._known.get(key)
            if digest is not None:
                self._known.move_to_end(key)
            return digest

    def put(self, key: tuple[str, int, int, int], digest: str) -> None:
        with self._lock:
            self._known[key] = digest
            if len(self._known) > self._size:
                self._known.popitem(last=False)


class Opened:
    """An open published file and its validators; ``read`` at most once, ``close`` always."""

    def __init__(self, path: str, fd: int, info: os.stat_result, gzipped: bool) -> None:
        self.path, self.fd, self.info, self.gzipped = path, fd, info, gzipped
        self.etag = ""
        self.modified = datetime.fromtimestamp(int(info.st_mtime), UTC)
        self._data: bytes | None = None

    @property
    def name(self) -> str:
        """The file asked for: the path without the .gz of a compressed sibling."""
        return self.path.removesuffix(".gz") if self.gzipped else self.path

    def read(self) -> bytes:
        if self._data is None:
            chunks, left = [], self.info.st_size
            while left > 0:  # a file may shrink under us: stop at its end
                chunk = os.read(self.fd, left)
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            self._data = b"".join(chunks)
        return self._data

    def close(self) -> None:
        os.close(self.fd)


class Folder:
    """The published feeds/ folder as the web sees it: manifest, status, files."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.manifest = JsonFile(root / layout.MANIFEST)
        self.status = JsonFile(root / layout.STATUS)
        self.hub = JsonFile(root / layout.HUB_STATUS)  # absent where no hub runs
        self.mirror = JsonFile(root / layout.MIRROR_STATUS)  # absent without --publish-to
        self.hashes = Hashes()

    def files(self) -> tuple[int, dict[str, Any]]:
        """The manifest's rows by path (empty before the first publish), and the
        generation of the manifest they come from."""
        generation, manifest = self.manifest.current()
        files = manifest.get("files") if isinstance(manifest, dict) else None
        return generation, files if isinstance(files, dict) else {}

    def readable(self) -> bool:
        return os.path.isdir(self.root) and os.access(self.root, os.R_OK | os.X_OK)

    def open_listed(self, files: dict[str, Any], path: str, gzip_ok: bool) -> Opened | None:
        """A file the manifest lists, as its .gz sibling if the client takes gzip and one
        is listed."""
        if path not in files:
            return None
        gz = f"{path}.gz"
        opened = self._open(gz, True, files[gz]) if gzip_ok and gz in files else None
        return opened or self._open(path, False, files[path])

    def open_unlisted(self, path: str) -> Opened | None:
        """An article page or archive (never in the manifest) that exists."""
        return self._open(path, False, None)

    def _open(self, path: str, gzipped: bool, row: Any) -> Opened | None:
        found = self._open_regular(path)
        if found is None:
            return None
        opened = Opened(path, *found, gzipped)
        try:
            self._validate(opened, row)
        except BaseException:
            opened.close()
            raise
        return opened

    def _validate(self, opened: Opened, row: Any) -> None:
        """ETag and date from the manifest row; hashed here if there is none, or if the
        file's size shows the row is stale (a publish pass is writing right now)."""
        if isinstance(row, dict) and row.get("size") == opened.info.st_size:
            try:
                opened.etag = f'"{row["sha256"]}"'
                opened.modified = _iso_date(row["updated"])
                return
            except (KeyError, TypeError, ValueError):
                pass
        info = opened.info
        key = (opened.path, info.st_ino, info.st_mtime_ns, info.st_size)
        digest = self.hashes.get(key)
        if digest is None:
            digest = hashlib.sha256(opened.read()).hexdigest()
            self.hashes.put(key, digest)
        opened.etag = f'"{digest}"'

    def _open_regular(self, path: str) -> tuple[int, os.stat_result] | None:
        """An fd of a regular file under the root reached through no symlink, or None."""
        here = self.root
        for part in path.split("/")[:-1]:
            here = os.path.join(here, part)
            try:
                if not stat.S_ISDIR(os.lstat(here).st_mode):
                    return None  # a symlinked folder could lead anywhere
            except OSError:
                return None
        try:
            fd = os.open(os.path.join(self.root, path), _OPEN_FLAGS)
        except OSError:  # missing, unreadable, or a symlink (ELOOP)
            return None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return None
        return fd, info


@lru_cache(maxsize=4096)
def _iso_date(value: str) -> datetime:
    """A manifest date, to whole seconds as HTTP dates have them."""
    return datetime.fromisoformat(value).astimezone(UTC).replace(microsecond=0)
