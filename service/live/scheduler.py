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
after its close, not a debounce. A burst of them (a folder of 1,000 files copied in)
is gathered into a few passes: what closes while a pass runs is part of a burst, and
waits for the burst to pause (no event for ``PAUSE``), at most ``BURST_HOLD``, before
the next round takes it. Taking it as soon as the pass ended made, on a busy machine,
a pass for every few hundred milliseconds of a copy: its first pass takes the few
files closed within ``GATHER``, and each next one what closed during the last. A
change that may not be complete (SETTLE: a file created or modified, or deleted and
maybe about to be written anew) waits for the debounce after its last event, and a
file until it has been quiet for ``settle`` seconds. Each change keeps its own time,
and the drain job runs at the earliest one and is never postponed, so a stream of
SETTLE events cannot hold back a READY file (beyond ``BURST_HOLD``, for one closed
during a burst).

A rescan (asked for by a folder created, moved or deleted) waits for the burst it
came with: a folder copied in is the folder's event followed by its files' events,
and a rescan in the middle of the copy reads nothing (what is there is either
published already or too young) yet costs a pass. So it waits for the debounce after
the last event of any kind, and until the files pending to settle have settled; those
it then publishes itself, in the same pass. That matters for a folder copied in: the
files written before watchdog watched the new folder are reported by its walk of the
folder with a created event and no close, so they settle, each on its own mtime, and
without the rescan gathering them a copy's last files would trickle out in a pass or
two of their own. The wait is bounded (``RESCAN_HOLD`` after the rescan was asked for),
so a file written without end cannot hold a rescan back, nor a long copy keep the
files that settled early waiting for its end.
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
# Seconds without an event after which a burst of complete files is over (a copy closes
# a file every millisecond or so, even on a busy machine), and at most how long a file
# closed during a burst waits for it to end: a copy that goes on is published by the
# second, not at its end.
PAUSE = 0.05
BURST_HOLD = 1.0
# Drains exclude each other (``_draining``); APScheduler's own limit is only a ceiling. At 1
# it would skip, with a warning, the job a drain schedules for itself as it stops, if
# that job fired before the scheduler had counted the drain as finished: a lost pass.
DRAIN_INSTANCES = 3
# Seconds after it is asked for by which a rescan runs, however long the burst of events
# goes on: a folder of a few thousand files copied in, and its settling, end well within
# it on a busy machine.
RESCAN_HOLD = 5.0


class PublishScheduler:
    """Runs ``publish`` one pass at a time, for every change, and never loses one."""

    def __init__(self, publish: Publish, seeds: str | os.PathLike[str], *, debounce: float,
                 reconcile: float, settle: float = QUIET, rescan_hold: float = RESCAN_HOLD,
                 health: Callable[[], object] | None = None,
                 next_release: Callable[[], datetime | None] = lambda: None,
                 retry_in: Callable[[], float | None] = lambda: None) -> None:
        self._publish = publish
        self._seeds = os.fspath(seeds)
        self.debounce, self.reconcile, self.settle = debounce, reconcile, settle
        self.rescan_hold = rescan_hold
        self._health = health
        self._next_release = next_release
        self._retry_in = retry_in
        self._lock = threading.Lock()  # guards the pending changes
        self._pass = threading.Lock()  # one publish pass at a time, whichever job
        # relative path -> (READY or SETTLE, monotonic time before which it waits)
        self._pending: dict[str, tuple[str, float]] = {}
        # Monotonic times a pending rescan is due: at the earliest (the debounce after the
        # last event), and at the latest (``rescan_hold`` after it was asked for).
        self._rescan_at: float | None = None
        self._rescan_by: float | None = None
        self._due: float | None = None  # monotonic time the publish job fires (None: none)
        self._last_event = 0.0  # monotonic time of the last notify
        self._gathering = False  # complete files of a burst wait for it to pause
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
        ``GATHER`` for a complete file, after the debounce for anything else. A pending
        rescan's debounce starts again with every event, of a folder or a file, so a
        folder copied in is rescanned once, after its files."""
        with self._lock:
            now = time.monotonic()
            at = now + self.debounce
            if kind == RESCAN or path is None:
                if self._rescan_by is None:  # the first ask of this rescan bounds its wait
                    self._rescan_by = now + self.rescan_hold
            elif kind == READY:  # closed during a burst (a pass runs): waits for its end
                burst = self._draining or self._gathering
                self._pending[path] = (READY, now + BURST_HOLD if burst else now)
                at = now + GATHER
            else:
                self._pending[path] = (SETTLE, at)
            if self._rescan_by is not None:  # a rescan is pending: the burst goes on
                self._rescan_at = now + self.debounce
            self._last_event = now
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
                    ready, wait, settled, rescan_at = self._take_ready()
                    rescan = rescan_at is not None and rescan_at <= time.monotonic()
                    if rescan:
                        self._take_rescan(settled)
                    if not ready and not rescan:
                        self._draining = False  # under the lock: notify schedules again
                        due = [at for at in (wait, rescan_at) if at is not None]
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

    def _take_ready(self) -> tuple[set[str], float | None, list[str], float | None]:
        """Pending paths that may be published now; when (monotonic) the next one may;
        the settled files left to the pending rescan; when that rescan is due (None: no
        rescan is pending).

        A READY file closed during a burst may be published once the events have paused
        for ``PAUSE`` (or ``BURST_HOLD`` after its close), and when one READY file may be,
        all pending go with it. A SETTLE file may be once its debounce has passed and it
        has been quiet for ``settle`` seconds (one that is gone is complete, once the
        debounce has passed). While a rescan is pending, such a file is left to it, and
        the rescan waits until the last one pending may be published (within
        ``rescan_hold``): the settled files of a burst and its rescan make one pass, not
        one each."""
        now, wall, ready = time.monotonic(), time.time(), set()
        holding = self._rescan_by is not None
        wait: float | None = None
        settled: list[str] = []
        gathering: list[str] = []  # READY files of a burst that is going on
        last = now  # when the last SETTLE file pending may be published
        for path, (kind, not_before) in list(self._pending.items()):
            left = not_before - now
            if kind == READY:
                left = min(left, self._last_event + PAUSE - now)
                if left > 0:
                    gathering.append(path)
            if kind == SETTLE and left <= 0:
                try:
                    mtime = os.stat(os.path.join(self._seeds, path)).st_mtime
                except OSError:
                    mtime = wall - self.settle  # gone: its deletion is complete
                left = settling_for(mtime, wall, self.settle)
            if left > 0:
                wait = left if wait is None else min(wait, left)
                if kind == SETTLE:
                    last = max(last, now + left)
            elif kind == SETTLE and holding:
                settled.append(path)
            else:
                ready.add(path)
                del self._pending[path]
        if gathering and ready:
            ready.update(gathering)  # a pass publishes them anyway: with the rest
            for path in gathering:
                del self._pending[path]
            gathering = []
        self._gathering = bool(gathering)
        rescan_at = None
        if self._rescan_at is not None and self._rescan_by is not None:
            rescan_at = min(max(self._rescan_at, last), self._rescan_by)
        return ready, None if wait is None else now + wait, settled, rescan_at

    def _take_rescan(self, settled: list[str]) -> None:
        """The pending rescan is about to run. It reads the ``settled`` files, which are
        done with; files still settling stay pending (the rescan leaves them too)."""
        self._rescan_at = self._rescan_by = None
        for path in settled:
            del self._pending[path]

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

