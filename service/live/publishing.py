"""Live publishing: the watcher and the scheduler around one publisher, so every change
in the seeds folder is published as it happens.

The first build comes before: ``initial_build`` publishes the folder once, and the
rescan that follows the start of watching publishes what changed meanwhile. ``Startup``
runs the two for `serve`: before it serves, or beside it on a thread.
"""

from __future__ import annotations

import _thread
import contextlib
import logging
import threading

from service.config import Settings, StartupError
from service.live.scheduler import PublishScheduler
from service.live.watcher import Watcher
from service.mirror import running as mirror
from service.mirror.mirror import Mirror
from service.publish.publisher import Publisher
from service.publish.status import PassFailed, PassReport
from service.seed.folder import QUIET, RESCAN

log = logging.getLogger(__name__)


class LivePublishing:
    """Publishes every change in the seeds folder as it happens."""

    def __init__(self, settings: Settings, publisher: Publisher) -> None:
        self.settings = settings
        self.publisher = publisher
        self.scheduler = PublishScheduler(
            self._publish, settings.seeds, debounce=settings.debounce,
            reconcile=settings.reconcile, health=self._health,
            next_release=publisher.next_release, retry_in=publisher.retry_in)
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
    written: the rescan that follows the start of watching finds those. If that pass
    fails, the publisher is returned all the same: live publishing retries it."""
    publisher = Publisher(settings, settle=QUIET)
    with contextlib.suppress(PassFailed):  # logged by the publisher, retried when live
        publisher.publish(None)
    return publisher


def first_build(settings: Settings, bucket: Mirror | None) -> Publisher:
    """The first pass of live publishing, followed by the bucket mirror if there is one."""
    return initial_build(settings) if bucket is None else mirror.initial_build(settings, bucket)


class Startup:
    """The first build, then live publishing: before serving, or beside it on a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bucket: Mirror | None = None  # the bucket mirror, once it is started
        self.live: LivePublishing | None = None
        self.failure: Exception | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Build, then go live (unless a stop came first)."""
        publisher = first_build(self.settings, self.bucket)
        with self._lock:
            if self._stopping:
                publisher.close()
                return
            self.live = LivePublishing(self.settings, publisher)
            self.live.start()

    def in_background(self) -> None:
        """``run`` on a thread. If it fails, the process stops: serving a site that
        nothing publishes would hide the failure behind a healthy web server."""
        def build() -> None:
            try:
                self.run()
            except Exception as exc:
                self.failure = exc
                log.error("the first publish pass failed, stopping: %s", exc)
                _thread.interrupt_main()  # stops the web server as Ctrl-C would

        self._thread = threading.Thread(target=build, name="first-build")
        self._thread.start()

    def stop(self) -> None:
        """Finish the build in flight, stop live publishing; re-raise a build failure."""
        with self._lock:
            self._stopping = True
        if self._thread is not None:
            if self._thread.is_alive():
                log.info("waiting for the first publish pass to finish")
            self._thread.join()
        if self.live is not None:
            self.live.stop()
        if isinstance(self.failure, StartupError):
            raise self.failure  # the command's one-line refusal, as in the main thread
        if self.failure is not None:
            raise RuntimeError("the first publish pass failed") from self.failure
