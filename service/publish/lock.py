"""One publisher per feeds folder and per state file, enforced by the kernel.

Two publishers on one feeds folder leave a manifest that does not match the files;
two sites on one state file fight over slugs. ``publisher_locks`` takes an exclusive
``flock`` on ``<feeds>/.publisher.lock`` (a dotfile: the web serves only what the
manifest lists) and on ``<state>.lock`` beside the SQLite file, and writes its pid
into each so that a second publisher can say who holds them. The commands that
publish take them before anything else (``build``, ``publish``, ``serve``; never
``web`` or ``check``). The kernel drops a ``flock`` when its holder dies, however it
dies, so a publisher killed with SIGKILL leaves no stale lock: the file stays, the
lock does not. A lock file removed under a running publisher (``rm -rf feeds/``,
which the next pass rebuilds) guards nothing any more: ``Locks.kept`` takes it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from service.config import Settings, StartupError

log = logging.getLogger(__name__)

FEEDS_LOCK = ".publisher.lock"
KEEP_EVERY = 1.0  # seconds between checks that each lock file is still the one locked


def feeds_lock(feeds: Path) -> Path:
    return feeds / FEEDS_LOCK


def state_lock(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


@contextlib.contextmanager
def publisher_locks(settings: Settings) -> Iterator[Locks]:
    """Hold the feeds folder's and the state's locks for the block; StartupError naming
    the holder's pid if another process holds either."""
    held: list[Lock] = []
    try:
        for path, what in ((feeds_lock(settings.feeds), f"the feeds folder {settings.feeds}"),
                           (state_lock(settings.state), f"the state {settings.state}")):
            held.append(Lock(path, what))
        yield Locks(held)
    finally:
        for lock in held:
            lock.release()


class Lock:
    """An exclusive flock on one lock file, the holder's pid written in it."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        self.fd = self._take()
        self.reported = False  # whether losing it has been logged

    def _take(self) -> int:
        fd, writable = _open(self.path, self.what)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise StartupError(
                f"{self.what} is in use by another publisher ({holder}); run one "
                "publisher per feeds folder and state file, or stop that one first"
            ) from None
        pid = f"{os.getpid()}\n".encode()
        if writable and os.pread(fd, 32, 0) != pid:  # a rebuild in this process: unchanged
            os.ftruncate(fd, 0)
            os.pwrite(fd, pid, 0)
        return fd

    def lost(self) -> bool:
        """Whether the path no longer names the file this lock holds (removed, replaced)."""
        try:
            now = os.stat(self.path)
        except OSError:
            return True
        held = os.fstat(self.fd)
        return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)

    def retake(self) -> None:
        """Lock the file now at the path; log (once) if that cannot be done."""
        try:
            fd = self._take()
        except StartupError as exc:
            if not self.reported:
                log.error("the lock file %s was removed, and locking it again failed: %s",
                          self.path, exc)
                self.reported = True
            return
        os.close(self.fd)
        self.fd, self.reported = fd, False
        log.warning("the lock file %s was removed: locked it again", self.path)

    def release(self) -> None:
        os.close(self.fd)  # releases the lock; the file and its stale pid stay, harmless


class Locks:
    """The locks one publisher holds."""

    def __init__(self, locks: list[Lock]) -> None:
        self.locks = locks

    def keep(self) -> None:
        """Take again each lock whose file was removed or replaced."""
        for lock in self.locks:
            if lock.lost():
                lock.retake()

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        """``keep`` every KEEP_EVERY seconds on a thread, for the block. Only once the
        first build is done: a cold build forks its workers only with one thread."""
        stop = threading.Event()

        def keeper() -> None:
            while not stop.wait(KEEP_EVERY):
                self.keep()

        thread = threading.Thread(target=keeper, name="lock-keeper", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _open(path: Path, what: str) -> tuple[int, bool]:
    """The lock file, created if need be, and whether the pid can be written into it: a
    flock needs no write access, so a lock file on a folder made read-only still locks.
    Not inherited by programs this process runs; forked render workers share it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), True
    except OSError as exc:
        try:
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC), False
        except OSError:
            raise StartupError(f"cannot lock {what}: {exc.strerror}: {path}") from None


def _holder(fd: int) -> str:
    """The pid the holder wrote (one that locked a read-only file wrote none: the pid is
    its predecessor's), or that none is written yet (it has only just locked)."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"pid {text}" if text.isdigit() else "pid not yet written"
