"""Watches the seeds folder and reports which seed files changed, and how.

The only module that imports watchdog. Handlers do nothing but classify and
enqueue (an exception in a handler silently kills watchdog's thread), and a
health check restarts a dead observer. What an event means:

- a file closed after writing, a file moved into place, a deleted file: the
  change is complete, publish it (``READY``);
- a created or modified file: it may still be being written, so it is published
  only once it has been quiet for a moment (``SETTLE``). On Linux the close
  event follows and makes it ready at once; a file moved in from outside the
  folder, and every change seen by the polling observer, settles.
- a folder created, moved or deleted: rescan everything (``RESCAN``).
"""

from __future__ import annotations

import logging
import os
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

from service.seed.folder import READY, RESCAN, SETTLE, is_seed_name

log = logging.getLogger(__name__)

Notify = Callable[[str | None, str], None]  # (relative path, or None for all; kind)

_EVENTS = [FileClosedEvent, FileCreatedEvent, FileModifiedEvent, FileMovedEvent,
           FileDeletedEvent, DirCreatedEvent, DirDeletedEvent, DirMovedEvent]


class _Handler(FileSystemEventHandler):
    def __init__(self, root: Path, notify: Notify) -> None:
        self.root = os.path.realpath(root)
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
            self._file(event.src_path, READY)
            self._file(event.dest_path, READY)
        elif isinstance(event, (FileClosedEvent, FileDeletedEvent)):
            self._file(event.src_path, READY)
        elif isinstance(event, (FileCreatedEvent, FileModifiedEvent)):
            self._file(event.src_path, SETTLE)

    def _file(self, path: str | bytes, kind: str) -> None:
        path = os.fsdecode(path)
        relative = os.path.relpath(path, self.root)
        if relative.startswith(".."):
            return
        relative = Path(relative).as_posix()
        if is_seed_name(relative):
            self.notify(relative, kind)


class Watcher:
    """An observer of the seeds folder (OS events, or polling by setting)."""

    def __init__(self, root: Path, notify: Notify, *, poll: bool = False,
                 poll_interval: float = 1.0) -> None:
        self.root = root
        self.notify = notify
        self.poll = poll
        self.poll_interval = poll_interval
        self.observer: BaseObserver | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        observer = (PollingObserver(timeout=self.poll_interval) if self.poll else Observer())
        observer.schedule(_Handler(self.root, self.notify), str(self.root), recursive=True,
                          event_filter=_EVENTS)
        observer.daemon = True
        observer.start()
        self.observer = observer
        log.info("watching %s (%s)", self.root, "polling" if self.poll else "OS events")

    def check(self) -> bool:
        """Restart the observer if its thread died; True if it was healthy."""
        if self.observer is not None and self.observer.is_alive():
            return True
        log.error("the watcher of %s had stopped; restarting it and rescanning", self.root)
        self.stop()
        try:
            self.start()
        except OSError as exc:  # e.g. the inotify watch limit: retried at the next check
            log.error("cannot watch %s: %s", self.root, exc)
        self.notify(None, RESCAN)
        return False

    def stop(self) -> None:
        observer, self.observer = self.observer, None
        if observer is not None:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=5)
