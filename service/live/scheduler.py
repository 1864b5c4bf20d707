"""When publish passes run: at once for complete files, after quiet for the rest,
periodically, at release times.

The only module that imports APScheduler. Changed paths are recorded in a set
*before* a pass is scheduled, and one drain at a time publishes that set in a loop
until it is empty: a change that arrives mid-pass is taken by the running drain,
which decides to stop under the same lock that records changes, so no change can
fall between a drain that stops and a job that is not scheduled. The periodic
reconcile is the safety net for anything missed (an overflowed event queue, a
network share).

How soon each change is published (complete files at once, a burst gathered, the rest
once quiet, a rescan after the burst it came with) is ``pending``'s to decide; this
module runs the passes it asks for, one at a time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from service.live.pending import RESCAN_HOLD, Pending
from service.publish.status import PassFailed
from service.seed.folder import QUIET

log = logging.getLogger(__name__)

Publish = Callable[[set[str] | None], object]  # (paths, or None: rescan) -> a report
MIN_DELAY = 0.02  # seconds; keeps a rescheduled pass from firing inside the last one
# Drains exclude each other (``_draining``); APScheduler's own limit is only a ceiling. At 1
# it would skip, with a warning, the job a drain schedules for itself as it stops, if
# that job fired before the scheduler had counted the drain as finished: a lost pass.
DRAIN_INSTANCES = 3


class PublishScheduler:
    """Runs ``publish`` one pass at a time, for every change, and never loses one."""

    def __init__(self, publish: Publish, seeds: str | os.PathLike[str], *, debounce: float,
                 reconcile: float, settle: float = QUIET, rescan_hold: float = RESCAN_HOLD,
                 health: Callable[[], object] | None = None,
                 next_release: Callable[[], datetime | None] = lambda: None,
                 retry_in: Callable[[], float | None] = lambda: None) -> None:
        self._publish = publish
        self.reconcile = reconcile
        self._health = health
        self._next_release = next_release
        self._retry_in = retry_in
        self._lock = threading.Lock()  # guards the pending changes
        self._pass = threading.Lock()  # one publish pass at a time, whichever job
        self._pending = Pending(os.fspath(seeds), debounce, settle, rescan_hold)
        self._due: float | None = None  # monotonic time the publish job fires (None: none)
        self._draining = False  # a drain runs and will take whatever is pending
        self._stopping = False  # set by stop(): schedule nothing more
        self.passes = 0
        self._scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1,
            "misfire_grace_time": None})  # a busy pool must delay a pass, never drop it

    def start(self) -> None:
        self._scheduler.add_job(self._reconcile, "interval", seconds=self.reconcile,
                                id="reconcile")
        if self._health is not None:
            self._scheduler.add_job(self._health, "interval", seconds=5, id="health")
        self._scheduler.start()
        with self._pass:
            self._schedule_release()
            self._schedule_retry()

    def stop(self) -> None:
        """Stop scheduling; wait for the pass in flight to finish.

        The jobs go first, under APScheduler's own lock: a shutdown that begins while
        its thread is removing a finished date job makes it look for the job among the
        not-yet-started ones, and it dies of a JobLookupError. Nothing is scheduled after
        that (``_stopping``), so the shutdown finds no job to race with."""
        if self._scheduler.running:
            self._stopping = True
            self._scheduler.remove_all_jobs()
            self._scheduler.shutdown(wait=True)

    def notify(self, path: str | None, kind: str) -> None:
        """Record a change (from the watcher's thread) and schedule a pass when
        ``pending`` says it may go."""
        with self._lock:
            at = self._pending.record(path, kind, self._draining)
            if self._draining:
                return  # the running drain takes it before it stops
            self._schedule_publish(at)

    def recheck(self, paths: Iterable[str]) -> None:
        """Publish these files once they are quiet: a rescan found them still changing."""
        with self._lock:
            at = self._pending.recheck(list(paths))
            if at is None or self._draining:
                return
            self._schedule_publish(at)

    # --- jobs ---------------------------------------------------------------

    def _drain(self) -> None:
        """Publish pending changes until none is left (or all wait to settle). A publish
        job that fires while another drain runs leaves the pending changes to it."""
        with self._lock:
            self._due = None  # this job has fired: the next notify schedules another
            if self._draining:
                return
            self._draining = True
        try:
            while True:
                with self._lock:
                    taken = self._pending.take()
                    ready, rescan_at = taken.ready, taken.rescan_at
                    rescan = rescan_at is not None and rescan_at <= time.monotonic()
                    if rescan:
                        self._pending.take_rescan(taken.settled)
                    if not ready and not rescan:
                        self._draining = False  # under the lock: notify schedules again
                        due = [at for at in (taken.wait, rescan_at) if at is not None]
                        if due:
                            self._schedule_publish(max(min(due), time.monotonic() + MIN_DELAY))
                        return
                if ready:  # complete files first: a rescan leaves the young ones for later
                    self._run(ready)
                if rescan:
                    self._run(None)
        except BaseException:
            with self._lock:
                self._draining = False
            raise

    def _reconcile(self) -> None:
        self._run(None)

    def _release(self) -> None:
        self._run(set())  # nothing changed on disk; the publisher releases what is due

    def _run(self, paths: set[str] | None) -> None:
        with self._pass:
            try:
                self._publish(paths)
            except PassFailed:
                delay = self._retry_in()  # the publisher has said why
                log.info("retrying the failed pass in %g s", delay or 0)
            except Exception:
                log.exception("publish pass failed")
            self.passes += 1
            self._schedule_release()  # under the pass lock: the publisher is not shared
            self._schedule_retry()

    def _retry(self) -> None:
        self._run(None)  # a failed pass is redone whole: the publisher starts afresh

    # --- helpers ------------------------------------------------------------

    def _schedule_publish(self, at: float) -> None:
        """Have the drain run at ``at`` (monotonic), unless it is due sooner already.
        Called under the lock that records changes."""
        if self._stopping or not self._scheduler.running:
            return
        if self._due is not None and self._due <= at:
            return  # that drain takes this change too, or schedules itself for it
        self._due = at
        run_date = datetime.now(UTC) + timedelta(seconds=max(at - time.monotonic(), 0.0))
        self._add_replacing(self._drain, run_date, "publish", max_instances=DRAIN_INSTANCES)

    def _add_replacing(self, func: Callable[[], None], run_date: datetime, job_id: str,
                       **options: object) -> None:
        """add_job(replace_existing=True), safe against the race in which the old job
        fires and is removed between APScheduler's lookup and its update (it then raises
        JobLookupError): the second try finds no job and adds it."""
        for attempt in range(2):
            try:
                self._scheduler.add_job(func, "date", run_date=run_date, id=job_id,
                                        replace_existing=True, **options)
                return
            except JobLookupError:
                if attempt:
                    raise

    def _schedule_retry(self) -> None:
        """A job to redo a failed pass, as soon as the publisher asks (with backoff)."""
        if self._stopping or not self._scheduler.running:
            return
        delay = self._retry_in()
        if delay is None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job("retry")
            return
        self._add_replacing(self._retry, datetime.now(UTC) + timedelta(seconds=delay), "retry")

    def _schedule_release(self) -> None:
        """A job at the next embargoed article's release time, if any."""
        if self._stopping or not self._scheduler.running:
            return
        when = self._next_release()
        if when is None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job("release")
            return
        self._add_replacing(self._release, when, "release")

