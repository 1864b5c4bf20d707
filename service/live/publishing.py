"""Live publishing: the watcher and the scheduler around one publisher, so every change
in the seeds folder is published as it happens.

The first build comes before: ``initial_build`` publishes the folder once, and the
rescan that follows the start of watching publishes what changed meanwhile.
"""

from __future__ import annotations

import contextlib
import logging

from service.config import Settings
from service.live.scheduler import PublishScheduler
from service.live.watcher import Watcher
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
