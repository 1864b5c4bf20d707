"""Live publishing: the watcher and the scheduler around one publisher, and the
process lifecycle of `seedfeeds serve` and `seedfeeds publish`.

SIGTERM (what Docker sends) and Ctrl-C stop the watcher, let the pass in
flight finish, and exit; every file is written atomically, so even a kill
leaves no half-written file behind.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from .config import Settings
from .publisher import PassReport, Publisher
from .scheduler import PublishScheduler
from .watcher import QUIET, RESCAN, Watcher

log = logging.getLogger(__name__)


class LivePublishing:
    """Publishes every change in the seeds folder as it happens."""

    def __init__(self, settings: Settings, publisher: Publisher) -> None:
        self.settings = settings
        self.publisher = publisher
        self.scheduler = PublishScheduler(
            self._publish, settings.seeds, debounce=settings.debounce,
            reconcile=settings.reconcile, health=self._health,
            next_release=publisher.next_release)
        self.watcher = (Watcher(settings.seeds, self.scheduler.notify, poll=settings.poll)
                        if settings.watch else None)

    def _publish(self, paths: set[str] | None) -> PassReport:
        report = self.publisher.publish(paths)
        self._settle_later(report)
        return report

    def _settle_later(self, report: PassReport) -> None:
        """Files a rescan left half written are published once quiet, even if the
        watcher saw nothing of them (a missed event, a restart)."""
        self.scheduler.recheck(report.unsettled)

    def _health(self) -> None:
        if self.watcher is not None:
            self.watcher.check()

    def start(self) -> None:
        self.scheduler.start()
        if self.watcher is not None:
            self.watcher.start()
            # The initial build read the folder before the watcher was watching: a file
            # written meanwhile (during a restart's build) sent no event to anyone. One
            # rescan now publishes it, instead of the periodic reconcile minutes later.
            self.scheduler.notify(None, RESCAN)
        else:
            log.info("watching is off: the reconcile every %g s publishes changes",
                     self.settings.reconcile)

    def stop(self) -> None:
        """Stop watching, finish the pass in flight, close the state."""
        if self.watcher is not None:
            self.watcher.stop()
        self.scheduler.stop()
        self.publisher.close()
        log.info("publisher stopped")


def initial_build(settings: Settings) -> Publisher:
    """A publisher that has published the whole folder once, but for files still being
    written: the rescan that follows the start of watching finds those."""
    publisher = Publisher(settings, settle=QUIET)
    publisher.publish(None)
    return publisher


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` (once) on SIGTERM or SIGINT."""
    called = threading.Event()

    def handler(number: int, _frame: FrameType | None) -> None:
        if not called.is_set():
            called.set()
            log.info("received %s, stopping", signal.Signals(number).name)
            stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_publisher(settings: Settings) -> None:
    """`seedfeeds publish`: build, then publish changes until SIGTERM or Ctrl-C."""
    live = LivePublishing(settings, initial_build(settings))
    stopping = threading.Event()
    on_stop_signals(stopping.set)
    live.start()
    try:
        while not stopping.wait(3600):
            pass
    finally:
        live.stop()


def run_server(settings: Settings) -> None:
    """`seedfeeds serve`: build, publish changes, and serve HTTP until SIGTERM or Ctrl-C.

    The first build runs before any thread starts, so it may fork render workers."""
    from .server import run_web  # the web side: imported only by the commands that serve

    live = LivePublishing(settings, initial_build(settings))
    live.start()
    try:
        run_web(settings)
    finally:
        live.stop()
