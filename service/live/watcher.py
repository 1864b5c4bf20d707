"""Watches the seeds folder and reports which seed files changed, and how.

The only module that imports watchdog. Handlers do nothing but classify and
enqueue (an exception in a handler silently kills watchdog's thread), and a
health check restarts a dead observer. What an event means:

- a file closed after writing, a file moved into place (both ends of a rename
  between seed names): the change is complete, publish it at once (``READY``);
- a created or modified file: it may still be being written, so it is published
  only once it has been quiet for a moment (``SETTLE``). On Linux the close
  event follows and makes it ready at once; a file moved in from outside the
  folder, and every change seen by the polling observer, settles.
- a deleted file, or one moved to a name that is no seed: it may be about to be
  written anew (vim and emacs save by renaming the original to ``name~`` first,
  some tools delete and write), so its unpublishing waits for the debounce too
  (``SETTLE``), and a save makes one pass, not an unpublish and a republish.
- a folder created, moved or deleted: rescan everything (``RESCAN``), once the burst
  of events it begins is over (the scheduler waits for it). A folder copied in is
  reported file by file as well: watchdog watches the new folder, then walks it and
  reports each file already there as created, with no close event for the ones that
  were complete before the watch began (they settle; the rescan gathers them).

The folder is watched where it really is: through a symlinked seeds/ inotify sees
nothing. watchdog stops watching a folder that is deleted, moved away or unmounted,
so the health check also compares the folder with the one watched (a symlink may
point elsewhere, a share may be mounted again) and starts over, with a rescan, once
the folder is back. At the inotify limits (watches or instances per user) it watches
by polling instead, and says so.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from service.config import BY_NAME
from service.seed.folder import READY, RESCAN, SETTLE, is_seed_name

log = logging.getLogger(__name__)

Notify = Callable[[str | None, str], None]  # (relative path, or None for all; kind)

_EVENTS = [FileClosedEvent, FileCreatedEvent, FileModifiedEvent, FileMovedEvent,
           FileDeletedEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent]


Where = tuple[str, int, int]  # a folder watched: (real path, device, inode)


class _Handler(FileSystemEventHandler):
    def __init__(self, root: str, notify: Notify) -> None:
        self.root = root  # the real path watched: events are named under it
        self.notify = notify

    def dispatch(self, event: FileSystemEvent) -> None:
        try:
            self._classify(event)
        except Exception:  # an escaping exception would kill the observer thread
            log.exception("could not handle %r; the next reconcile will catch up", event)

    def _classify(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            if isinstance(event, (DirCreatedEvent, DirDeletedEvent, DirMovedEvent)):
                self.notify(None, RESCAN)
            return
        if isinstance(event, FileMovedEvent):
            renamed = self._file(event.dest_path, READY)
            self._file(event.src_path, READY if renamed else SETTLE)
        elif isinstance(event, FileClosedEvent):
            self._file(event.src_path, READY)
        elif isinstance(event, (FileCreatedEvent, FileModifiedEvent, FileDeletedEvent)):
            self._file(event.src_path, SETTLE)

    def _file(self, path: str | bytes, kind: str) -> bool:
        """Notify a change of a seed file; False if ``path`` is no seed file's."""
        path = os.fsdecode(path)
        relative = os.path.relpath(path, self.root)
        if relative.startswith(".."):
            return False
        relative = Path(relative).as_posix()
        if not is_seed_name(relative):
            return False
        self.notify(relative, kind)
        return True


class Watcher:
    """An observer of the seeds folder (OS events, or polling by setting)."""

    def __init__(self, root: Path, notify: Notify, *, poll: bool = False,
                 poll_interval: float = 1.0) -> None:
        self.root = root
        self.notify = notify
        self.poll = poll  # also set once the inotify limits leave no other way
        self.poll_interval = poll_interval
        self.observer: BaseObserver | None = None
        self._watching: Where | None = None
        self._missing = False

    def start(self) -> None:
        """Watch the folder; if it is missing, say so (``check`` watches it once back)."""
        where = _where(self.root)
        if where is None:
            self._missing = True
            log.error("the seeds folder %s is missing; watching it once it is there",
                      self.root)
            return
        try:
            self._observe(where)
        except OSError as exc:
            if self.poll or exc.errno not in (errno.ENOSPC, errno.EMFILE):
                raise
            log.error("cannot watch %s with OS events: %s; polling it instead. Raise the "
                      "limit (sysctl fs.inotify.max_user_watches=524288, or "
                      "fs.inotify.max_user_instances), or set %s=true to poll on purpose",
                      self.root, exc.strerror, BY_NAME["poll"].env)
            self.poll = True
            self._observe(where)

    def _observe(self, where: Where) -> None:
        observer = (PollingObserver(timeout=self.poll_interval) if self.poll else Observer())
        observer.schedule(_Handler(where[0], self.notify), where[0], recursive=True,
                          event_filter=_EVENTS)
        observer.daemon = True
        observer.start()
        self.observer, self._watching = observer, where
        log.info("watching %s (%s)", self.root, "polling" if self.poll else "OS events")

    def check(self) -> bool:
        """Watch again if the observer stopped, or if the folder is no longer the one
        watched (gone, back, or a symlink now pointing elsewhere); True if all was well.
        Each change is followed by a rescan: the pass reports a missing folder, and
        publishes what changed while nothing watched."""
        where = _where(self.root)
        if where is not None and where == self._watching and self._alive():
            return True
        if where is None:
            if not self._missing:
                self._missing = True
                log.error("the seeds folder %s is gone; its articles stay published, and "
                          "watching resumes when it is back", self.root)
                self.stop()
                self.notify(None, RESCAN)
            return False
        if self._missing:
            log.info("the seeds folder %s is back: watching it again, and rescanning",
                     self.root)
        else:
            log.error("the watcher of %s had stopped; restarting it and rescanning", self.root)
        self._missing = False
        self.stop()
        try:
            self.start()
        except OSError as exc:  # retried at the next check; the reconcile rescans meanwhile
            log.error("cannot watch %s: %s", self.root, exc)
        self.notify(None, RESCAN)
        return False

    def _alive(self) -> bool:
        """The observer's thread and every emitter's (watchdog 7 keeps the observer
        alive when the emitter of a deleted folder stops)."""
        observer = self.observer
        return (observer is not None and observer.is_alive() and bool(observer.emitters)
                and all(emitter.is_alive() for emitter in observer.emitters))

    def stop(self) -> None:
        observer, self.observer, self._watching = self.observer, None, None
        if observer is not None:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=5)


def _where(root: Path) -> Where | None:
    """The folder ``root`` is now (where a symlink leads), or None if it is no folder."""
    real = os.path.realpath(root)
    try:
        info = os.stat(real)
    except OSError:
        return None
    return (real, info.st_dev, info.st_ino) if stat.S_ISDIR(info.st_mode) else None
