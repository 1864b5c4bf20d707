"""The mirror: keeps one bucket prefix holding what the passes published, as a pass
output of its own (issue "Faults lose nothing").

Each pass that succeeded offers a snapshot; the mirror's thread brings the bucket to
the newest one it has (snapshots that arrive meanwhile are merged, never queued), so a
burst of passes makes one upload of each file. An attempt that fails (storage down,
throttled, refused, wrong credentials) is retried after 1 s, 2 s, 4 s ... then every
60 s, and what it did before failing is kept: the retry sends only the rest. Work that
needs a person (the delete guard, another publisher on the prefix, a lost lock) is
"refused" and retried each minute, or with the next pass, which may have fixed it.
``build`` and ``sync`` run the same attempts in their own thread until done or their
time is up. Everything is reported in ``feeds/mirror.json`` (``report``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from service.config import Settings
from service.mirror import lock as prefix_lock
from service.mirror.aws import Bucket, StoreError, endpoint
from service.mirror.cdn import Purger
from service.mirror.ledger import Conflict, Ledger
from service.mirror.local import Snapshot
from service.mirror.objects import split_target
from service.mirror.plan import Plan, plan
from service.mirror.report import LastSync, Report
from service.mirror.sync import Carrier, Outcome, Stopping
from service.publish.status import Failure

log = logging.getLogger(__name__)

REFUSED_RETRY = 60.0  # seconds between two looks at work that needs a person


class DeleteGuard(StoreError):
    """More deletes than --publish-max-deletes: none was made."""


NEEDS_A_PERSON = (DeleteGuard, prefix_lock.Held, prefix_lock.Lost, Conflict)


class Mirror:
    """The bucket of ``settings.publish_to`` kept equal to the snapshots offered."""

    def __init__(self, settings: Settings, lazy: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings, self.clock = settings, clock
        self.lazy = lazy  # lock only when there is something to write (build, sync)
        self.bucket = Bucket(*split_target(settings.publish_to), settings.publish_workers)
        self.lock = prefix_lock.PrefixLock(self.bucket, settings.feeds, settings.publish_to)
        self.ledger = Ledger(self.bucket, self.lock.owner, settings.publish_workers)
        self.purger = (Purger(settings.cdn_purge, settings.base_url,
                              settings.cdn_purge_max_paths) if settings.cdn_purge else None)
        self.report = Report(settings.feeds, settings.publish_to, endpoint(),
                             settings.cdn_purge or None)
        self.pool = ThreadPoolExecutor(settings.publish_workers, thread_name_prefix="mirror")
        self.stopping = threading.Event()
        self.carrier = Carrier(settings.feeds, self.bucket, self.ledger, self.pool,
                               settings.publish_workers, self.stopping, self._locked)
        self.failure: Failure | None = None
        self.refused = False  # the last failure needs a person
        self.outcome = Outcome()  # what the attempts since the last success did
        self._pending: Snapshot | None = None  # offered, not yet in the bucket
        self.latest: Snapshot | None = None  # the newest snapshot offered
        self._offered_at: float | None = None  # when the oldest pass not yet mirrored ended
        self._purges: set[str] = set()  # changed files whose purge is owed
        self._offers = 0  # snapshots offered so far
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    # --- what the publisher and the commands call -------------------------------------

    def offer(self, snapshot: Snapshot) -> None:
        """A pass succeeded: bring the bucket to ``snapshot`` (merged with what is pending)."""
        with self._wake:
            self._pending = snapshot if self._pending is None else self._pending.then(snapshot)
            self.latest = snapshot
            if self._offered_at is None:
                self._offered_at = time.perf_counter()
            self._offers += 1
            self._wake.notify()

    def holder(self) -> str | None:
        """Who else holds the prefix (a read, for start-up); None if free or unreachable."""
        try:
            return self.lock.holder()
        except StoreError as exc:
            log.warning("mirror: %s is not reachable yet (%s); publishing locally, and "
                        "mirroring as soon as it is", self.settings.publish_to, exc)
            return None

    def start(self) -> None:
        """Mirror on a thread of its own, from now until ``stop``; mirror.json says at once
        that the bucket is being brought up to date (not what the last process left)."""
        self._write_report()
        self._thread = threading.Thread(target=self._run, name="mirror", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop: the requests in flight finish and are recorded, the record is saved, the
        lock released; what is left is done at the next start."""
        self.stopping.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        self.pool.shutdown(wait=True)
        if self.lock.held:
            self.lock.release()
        if self.report.state == "syncing":  # cut short: the rest is done at the next start
            self.report.state = "stopped"
        self._write_report()

    def finish(self, timeout: float) -> bool:
        """Attempt in this thread until the bucket holds what was offered or ``timeout``
        seconds have passed (``build``, ``sync``); True if it does."""
        deadline = time.monotonic() + timeout
        while True:
            if self.attempt():
                return True
            wait = self._retry_in()
            if self.refused or time.monotonic() + wait > deadline:
                return False
            log.warning("mirror: trying again in %g s", wait)
            if self.stopping.wait(wait):
                return False

    @property
    def done(self) -> bool:
        with self._wake:
            return self._pending is None and not self._purges and self.failure is None

    # --- one attempt ------------------------------------------------------------------

    def attempt(self) -> bool:
        """One try at bringing the bucket to the pending snapshot; True if it holds it."""
        with self._wake:
            snapshot = self._pending
        try:
            made = self._attempt(snapshot)
        except Stopping:
            self._write_report()
            return False
        except Exception as exc:
            self._failed(exc)
            return False
        with self._wake:
            if self._pending is snapshot:  # nothing newer came meanwhile
                self._pending = None
            caught_up = self._pending is None
            offered, self._offered_at = self._offered_at, None if caught_up else self._offered_at
        self._succeeded(made, offered if caught_up else None)
        return caught_up

    def _attempt(self, snapshot: Snapshot | None) -> Plan | None:
        if not self.lazy:
            self._locked()
        if not self.ledger.loaded:
            self.ledger.load()
        if snapshot is None:
            self._purge()
            return None
        made = plan(snapshot, self.ledger.rows, self.ledger.strays, self.settings.max_age,
                    self.settings.publish_max_deletes)
        self._show_pending(made)
        try:  # the carrier locks before its first write: an unchanged rebuild writes nothing
            self.carrier.carry_out(made, self.outcome)
        finally:
            if self.ledger.dirty:
                self._locked()
                self.ledger.save()
        self._purges.update(self.outcome.uploaded, self.outcome.deleted)
        self._purge()
        if made.refused:
            raise DeleteGuard(
                f"{len(made.deletes)} objects would be deleted from {self.settings.publish_to}"
                f", more than --publish-max-deletes / SEEDFEEDS_PUBLISH_MAX_DELETES "
                f"({self.settings.publish_max_deletes}); none was deleted. If that is "
                "meant, run `seedfeeds sync --publish-max-deletes N` once")
        return made

    def _locked(self) -> None:
        """Hold the prefix's lock, refreshed recently enough to write under it."""
        if not self.lock.held:
            self.lock.acquire()
        if not self.lock.fresh():
            self.lock.keep()

    def _purge(self) -> None:
        if self.purger is None or not self._purges:
            self._purges.clear()
            return
        owed = sorted(self._purges)
        self.purger.purge(owed)
        self._purges.difference_update(owed)

    # --- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        """Attempt whenever there is work and no retry is waiting; keep the lock fresh
        meanwhile. The condition is never held during a request, so ``offer`` (the
        publisher's thread) never waits for the store."""
        due, offers = 0.0, 0
        while not self.stopping.is_set():
            with self._wake:
                if self._offers != offers and self.refused:
                    due = 0.0  # a new pass may have mended what was refused
                offers = self._offers
                work = self._work()
                wait = due - time.monotonic() if work else self._keep_in()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
            if work:
                self.attempt()
                due = time.monotonic() + self._retry_in()
            else:
                try:
                    self.lock.keep()
                except StoreError as exc:
                    self._failed(exc)
                    due = time.monotonic() + self._retry_in()

    def _work(self) -> bool:
        return (self._pending is not None or bool(self._purges) or self.failure is not None
                or not self.lock.held)

    def _keep_in(self) -> float:
        """Seconds until the lock is to be refreshed."""
        return prefix_lock.REFRESH - (self.lock.clock() - self.lock.refreshed)

    def _retry_in(self) -> float:
        if self.failure is None:
            return 0.0
        return REFUSED_RETRY if self.refused else self.failure.retry_in()

    # --- outcomes ---------------------------------------------------------------------

    def _failed(self, exc: Exception) -> None:
        now = self.clock()
        error = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        first = self.failure is None
        attempts = 1 if self.failure is None else self.failure.attempts + 1
        since = now if self.failure is None else self.failure.since
        self.failure = Failure(since, now, attempts, error)
        self.refused = isinstance(exc, NEEDS_A_PERSON)
        if isinstance(exc, (prefix_lock.Lost, Conflict)):
            self.ledger.loaded = False  # another publisher wrote: read the bucket again
        expected = isinstance(exc, (StoreError, OSError))
        log.error("mirror: attempt %d failed: %s; %s", attempts, error,
                  "it needs a person" if self.refused else f"retrying in {self._retry_in():g} s",
                  exc_info=first and not expected)
        self.report.state = "refused" if self.refused else "failing"
        self.report.failure = self.failure
        self._write_report()

    def _succeeded(self, made: Plan | None, offered: float | None) -> None:
        outcome, self.outcome = self.outcome, Outcome()
        if self.failure is not None:
            log.info("mirror: %s is written again, after %d failed attempts",
                     self.settings.publish_to, self.failure.attempts)
        self.failure, self.refused = None, False
        if made is not None:
            purged = len(self.purger.paths(outcome.uploaded + outcome.deleted)) \
                if self.purger and (outcome.uploaded or outcome.deleted) else 0
            self.report.last = LastSync(self.clock(), outcome.seconds, len(outcome.uploaded),
                                        len(outcome.deleted), made.unchanged + outcome.same,
                                        outcome.sent, purged)
            if outcome.uploaded or outcome.deleted:
                log.info("mirror: uploaded %d, deleted %d, unchanged %d, in %.2f s",
                         len(outcome.uploaded), len(outcome.deleted),
                         made.unchanged + outcome.same, outcome.seconds)
        if offered is not None:
            self.report.lag.observe(time.perf_counter() - offered)
        self.report.state, self.report.failure = "ok", None
        self.report.in_sync = self._pending is None
        self._show_pending(None)

    def _show_pending(self, made: Plan | None) -> None:
        self.report.pending = {"uploads": made.uploads if made else 0,
                               "deletes": len(made.deletes) if made else 0,
                               "purges": len(self._purges)}
        if made is not None and not made.empty():
            self.report.state, self.report.in_sync = "syncing", False
        self._write_report()

    def _write_report(self) -> None:
        self.report.objects = len(self.ledger.rows)
        self.report.requests = {**self.bucket.counts,
                                "purge": self.purger.sent if self.purger else 0}
        self.report.write(self.clock())
