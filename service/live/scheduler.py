"""When publish passes run: at once for complete files, after quiet for the rest,
periodically, at release times.

The only module that imports APScheduler. Changed paths are recorded in a set
*before* a pass is scheduled, and one drain at a time publishes that set in a loop
until it is empty: a change that arrives mid-pass is taken by the running drain,
which decides to stop under the same lock that records changes, so no change can
fall between a drain that stops and a job that is not scheduled. The periodic
reconcile is the safety net for anything missed (an overflowed event queue, a
network share).

How soon a change is published depends on its kind. A file that is complete (READY:
closed after writing, moved into place) waits only ``GATHER``, so it is served a pass
after its close, not a debounce; a burst of them (a folder of 1,000 files copied in)
is still gathered into a few passes, because whatever arrives while a pass runs is
taken by the drain's next round. A change that may not be complete (SETTLE: a file
created or modified, or deleted and maybe about to be written anew) waits for the
debounce after its last event, and a file until it has been quiet for ``settle``
seconds; a rescan waits for the debounce after the last folder event. Each change
keeps its own time, and the drain job runs at the earliest one and is never
postponed, so a stream of SETTLE events cannot hold back a READY file.
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

from service.publish.status import PassFailed
from service.seed.folder import QUIET, READY, RESCAN, SETTLE, settling_for

log = logging.getLogger(__name__)

Publish = Callable[[set[str] | None], object]  # (paths, or None: rescan) -> a report
MIN_DELAY = 0.02  # seconds; keeps a rescheduled pass from firing inside the last one
# Seconds a complete file waits for the rest of its burst: the watcher's events of a copy
# come a few hundred microseconds apart, so the first pass takes more than one file, and
# a single drop is served a pass (not a debounce) after its close.
GATHER = 0.003
# Drains exclude each other (``_draining``); APScheduler's own limit is only a ceiling. At 1
# it would skip, with a warning, the job a drain schedules for itself as it stops, if
# that job fired before the scheduler had counted the drain as finished: a lost pass.
DRAIN_INSTANCES = 3


class PublishScheduler:
    """Runs ``publish`` one pass at a time, for every change, and never loses one."""

    def __init__(self, publish: Publish, seeds: str | os.PathLike[str], *, debounce: float,
                 reconcile: float, settle: float = QUIET,
                 health: Callable[[], object] | None = None,
                 next_release: Callable[[], datetime | None] = lambda: None,
                 retry_in: Callable[[], float | None] = lambda: None) -> None:
        self._publish = publish
        self._seeds = os.fspath(seeds)
        self.debounce, self.reconcile, self.settle = debounce, reconcile, settle
        self._health = health
        self._next_release = next_release
        self._retry_in = retry_in
        self._lock = threading.Lock()  # guards the pending changes
        self._pass = threading.Lock()  # one publish pass at a time, whichever job
        # relative path -> (READY or SETTLE, monotonic time before which it waits)
        self._pending: dict[str, tuple[str, float]] = {}
        self._rescan_at: float | None = None  # monotonic time a pending rescan is due
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
        """Record a change (from the watcher's thread) and schedule a pass: within
        ``GATHER`` for a complete file, after the debounce for anything else (a rescan's
        debounce starts again with each folder event, as a burst of them makes one)."""
        with self._lock:
            now = time.monotonic()
            if kind == RESCAN or path is None:
                self._rescan_at = at = now + self.debounce
            elif kind == READY:
                self._pending[path] = (READY, now)
                at = now + GATHER
            else:
                self._pending[path] = (SETTLE, now + self.debounce)
                at = now + self.debounce
            if self._draining:
                return  # the running drain takes it before it stops
            self._schedule_publish(at)

    def recheck(self, paths: Iterable[str]) -> None:
        """Publish these files once they are quiet: a rescan found them still changing.
        An event pending for one of them is newer news (a close says it is complete),
        so it is kept."""
        with self._lock:
            at = time.monotonic() + self.debounce
            added = [self._pending.setdefault(path, (SETTLE, at)) for path in paths]
            if not added or self._draining:
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
                    ready, wait = self._take_ready()
                    rescan = self._rescan_due(time.monotonic())
                    if not ready and not rescan:
                        self._draining = False  # under the lock: notify schedules again
                        due = [at for at in (wait, self._rescan_at) if at is not None]
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

    def _take_ready(self) -> tuple[set[str], float | None]:
        """Pending paths that may be published now, and when (monotonic) the next one
        may: a SETTLE file once its debounce has passed and it has been quiet for
        ``settle`` seconds (one that is gone is complete, once the debounce has passed)."""
        now, wall, ready = time.monotonic(), time.time(), set()
        wait: float | None = None
        for path, (kind, not_before) in list(self._pending.items()):
            left = not_before - now
            if kind == SETTLE and left <= 0:
                try:
                    mtime = os.stat(os.path.join(self._seeds, path)).st_mtime
                except OSError:
                    mtime = wall - self.settle  # gone: its deletion is complete
                left = settling_for(mtime, wall, self.settle)
            if left > 0:
                wait = left if wait is None else min(wait, left)
                continue
            ready.add(path)
            del self._pending[path]
        return ready, None if wait is None else now + wait

    def _rescan_due(self, now: float) -> bool:
        """Take the pending rescan if its debounce has passed."""
        if self._rescan_at is None or self._rescan_at > now:
            return False
        self._rescan_at = None
        return True

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

