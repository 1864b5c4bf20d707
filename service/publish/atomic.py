"""Files written whole or not at all, and .gz siblings compressed on helper threads.

``write`` puts the bytes in a temp file beside the target and renames it over the
target, so a reader never sees half a file. ``Packer`` gzips the siblings on helper
threads: zlib and sha256 release the GIL, so on two cores the compression (a quarter of
a small site's cold build) runs beside the rendering instead of after it, and so do
the hashes of the file and its sibling. The helpers only compress and hash, calls that
hand the GIL back and forth: the thread that
collects a sibling writes it (each write is four calls that would wait for the GIL
while the renderer holds it, and made the helpers slower than compressing inline).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

# Level 4 compresses a 90 kB feed twice as fast as the default 6, for 2% more bytes.
GZIP_LEVEL = 4
THREADS = 2  # two helpers: when the renderer waits for them, both cores compress
IN_FLIGHT = 32  # siblings queued at most: the bytes they hold wait in memory


def write(target: str, data: bytes) -> None:
    """Write to a temp file beside ``target``, then rename it over ``target``.

    One publisher writes at a time, from one thread, so the pid makes the temp name
    unique; a dotted name keeps half-written temp files out of every listing.
    Plain os calls on str paths: pathlib would triple the cost of 100,000 small files."""
    folder, name = os.path.split(target)
    temp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temp, _CREATE, 0o644)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(temp, _CREATE, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def clean_temp_files(root: str | os.PathLike[str]) -> int:
    """Remove the temp files a killed writer left behind under ``root``; readers never
    saw them."""
    removed = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if name.startswith(".") and name.endswith(".tmp"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, name))
                removed += 1
    return removed


def gzipped(data: bytes) -> tuple[bytes, str, str]:
    """``data`` gzipped (no name, no time: the same bytes give the same file), its
    sha256, and the sha256 of ``data``."""
    packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    return packed, hashlib.sha256(packed).hexdigest(), hashlib.sha256(data).hexdigest()


class _Sibling:
    """One .gz sibling queued: done once compressed (or failed)."""

    __slots__ = ("data", "done", "error", "note", "result", "target")

    def __init__(self, target: str, data: bytes, note: Any) -> None:
        self.target, self.data, self.note = target, data, note
        self.done = threading.Event()
        self.result: tuple[bytes, str, str] = (b"", "", "")
        self.error: BaseException | None = None


# key, note, the sibling's size and sha256, the sha256 of the bytes it compresses
Done = Callable[[str, Any, int, str, str], None]


class Packer:
    """Compresses .gz siblings on helper threads; the thread that collects one
    (``settle``, ``finish`` or ``drop``) writes it and calls ``done`` with the ``note``
    it was queued with, in no promised order."""

    def __init__(self, done: Done) -> None:
        self._done = done
        self._queued: dict[str, _Sibling] = {}  # by key, oldest first
        self._tasks: SimpleQueue[_Sibling | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._pid = 0

    def pack(self, key: str, target: str, data: bytes, note: Any) -> None:
        """Queue ``data`` to be gzipped into ``target``, under ``key``."""
        self.settle(key)
        if len(self._queued) >= IN_FLIGHT:
            self.settle(next(iter(self._queued)))
        sibling = _Sibling(target, data, note)
        self._queued[key] = sibling
        self._start()
        self._tasks.put(sibling)

    def settle(self, key: str) -> None:
        """Wait for the sibling queued under ``key``, if any, and write it: its error
        (or the write's) raised here, else ``done`` called."""
        sibling = self._queued.pop(key, None)
        if sibling is None:
            return
        sibling.done.wait()
        if sibling.error is not None:
            raise sibling.error
        packed, digest, of_data = sibling.result
        write(sibling.target, packed)
        self._done(key, sibling.note, len(packed), digest, of_data)

    def finish(self) -> None:
        """Collect every sibling queued and stop the helpers; then raise the first
        failure, if one failed (every other one was waited for: none is in flight)."""
        failure: BaseException | None = None
        while self._queued:
            try:
                self.settle(next(iter(self._queued)))
            except Exception as exc:
                failure = failure or exc
        self._stop()
        if failure is not None:
            raise failure

    def drop(self) -> None:
        """``finish`` for a pass that failed already: its failures are not raised."""
        with contextlib.suppress(Exception):
            self.finish()
        self._queued.clear()

    def _start(self) -> None:
        if self._threads and self._pid == os.getpid():
            return
        # None yet, or a forked copy of another process's: its helpers are not here.
        self._tasks, self._pid = SimpleQueue(), os.getpid()
        # Daemons: a process stopped by a signal must not wait for them to exit.
        self._threads = [threading.Thread(target=self._work, name="gzip", daemon=True)
                         for _ in range(THREADS)]
        for thread in self._threads:
            thread.start()

    def _stop(self) -> None:
        """Let the helpers go: a process that forks workers must run one thread."""
        if not self._threads or self._pid != os.getpid():
            self._threads = []
            return
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()
        self._threads = []

    def _work(self) -> None:
        tasks = self._tasks
        while (sibling := tasks.get()) is not None:
            try:
                sibling.result = gzipped(sibling.data)
            except BaseException as exc:  # handed to the thread that collects it
                sibling.error = exc
            sibling.data = b""
            sibling.done.set()
