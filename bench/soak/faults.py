"""Faults: the feeds folder read-only and the state locked, each for a few seconds, on a
schedule. While a fault lasts, and until the first publish pass after it succeeds, no
change can be published: the deadlines of freshness are suspended, and every serving
promise still holds (valid answers, no 5xx, the site as last published). Once the fault
clears, every change made during it must be served within ``--recovery`` seconds."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .client import Client
from .plan import Plan
from .readers import Readers
from .server import Server
from .truth import Truth
from .violations import Violations, say

READ_ONLY, LOCKED = "read-only feeds/", "locked state"
KINDS = (READ_ONLY, LOCKED)
LENGTH = (8.0, 15.0)  # s a fault lasts, drawn from this range
POLL = 0.25  # s between looks at status.json while a fault lasts
WALKERS = 8  # connections that ask for the fault's changes once the first one shows
_STAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")
_HEALED = re.compile(r"publishing works again, after (\d+) failed attempts")


class FaultError(Exception):
    """A fault could not be brought about (not root, no mount, ...): it is skipped."""


@dataclass
class Window:
    """A fault and its aftermath: from the fault until the publisher healed."""

    began: float
    resumed: float | None = None  # the first pass after the fault ended; None: not yet


class Deadlines:
    """By when a change must show: ``settle`` after it is made (``margin`` after a
    release time), or, when a fault caught that deadline, as long after the publisher
    healed, as after a restart's first pass. Until it heals, never."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._windows: tuple[Window, ...] = ()  # replaced whole: readers take no lock

    def change(self, when: float) -> float:
        return self._due(when, self.plan.settle)

    def release(self, when: float) -> float:
        return self._due(when, self.plan.margin)

    def _due(self, when: float, slack: float) -> float:
        due = when + slack
        for window in self._windows:
            resumed = window.resumed if window.resumed is not None else float("inf")
            if when < resumed and due > window.began:
                due = max(due, resumed + slack)
        return due

    def suspend(self, began: float) -> Window:
        window = Window(began)
        self._windows = (*self._windows, window)
        return window

    def drop(self, window: Window) -> None:
        """A fault that never happened suspends nothing."""
        self._windows = tuple(w for w in self._windows if w is not window)

    def during(self, when: float) -> bool:
        """``when`` lies within a fault or its aftermath (a second either side)."""
        return any(w.began - 1 <= when <= (w.resumed or float("inf")) + 1
                   for w in self._windows)


@dataclass
class Fault:
    """One fault of the schedule, and what came of it."""

    kind: str
    at: float  # planned start, s after the soak began
    length: float  # planned duration, s
    skipped: str | None = None  # why it did not happen
    began: float | None = None
    cleared: float | None = None
    failed: int = 0  # passes that failed from its start until the publisher healed
    failing: str | None = None  # status.json's "failing", as last seen during it
    healed: float | None = None  # the end of the first pass that succeeded after it
    attempts: int | None = None  # failed attempts, as the server counted them
    changes: int = 0  # articles that came or went during it
    visible: float | None = None  # every one of those changes was served

    def lasted(self) -> float:
        return (self.cleared or 0.0) - (self.began or 0.0)


def schedule(plan: Plan) -> list[Fault]:
    """``plan.faults`` faults spread evenly over the run (two: at a third and two
    thirds), kinds taking turns, each lasting 8-15 s."""
    rng = random.Random(plan.seed * 7919 + 12)  # its own: churn and kills stay as they were
    run = plan.minutes * 60
    return [Fault(KINDS[i % len(KINDS)], run * (i + 1) / (plan.faults + 1),
                  rng.uniform(*LENGTH)) for i in range(plan.faults)]


# --- the faults themselves --------------------------------------------------------------

class ReadOnlyFeeds:
    """The feeds folder read-only for every process, root included: a read-only bind
    mount over it, so that every write or rename in it fails with EROFS."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mounted = self.shut = False
        self._lock = threading.Lock()

    def unavailable(self) -> str | None:
        if os.geteuid() != 0:
            return "not root: a read-only bind mount needs root"
        if shutil.which("mount") is None or shutil.which("umount") is None:
            return "no mount or umount command"
        return None

    def apply(self) -> None:
        with self._lock:
            if self.shut:
                raise FaultError("the run is stopping")
            _mount("--bind", str(self.folder), str(self.folder))
            self.mounted = True
            # EBUSY while the publisher has a file in it open for writing: try again.
            for attempt in range(50):
                try:
                    _mount("-o", "remount,bind,ro", str(self.folder))
                    return
                except FaultError:
                    if attempt == 49:
                        self._unmount()
                        raise
                    time.sleep(0.05)

    def clear(self, final: bool = False) -> None:
        """Undo the fault; ``final``: for good, the run is stopping."""
        with self._lock:
            self.shut |= final
            self._unmount()

    def _unmount(self) -> None:
        if not self.mounted:
            return
        for _ in range(50):  # EBUSY while a process has its working folder in it
            if subprocess.run(["umount", str(self.folder)], capture_output=True).returncode == 0:
                self.mounted = False
                return
            time.sleep(0.1)
        subprocess.run(["umount", "-l", str(self.folder)], capture_output=True)
        self.mounted = False


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise FaultError(f"mount {' '.join(args)}: {done.stderr.strip() or done.returncode}")


class LockedState:
    """The state held by another process (this one), as a backup or an ``sqlite3``
    shell holds it: ``BEGIN EXCLUSIVE`` for the fault's duration, then rolled back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None
        self.shut = False
        self._lock = threading.Lock()

    def unavailable(self) -> str | None:
        return None if self.path.is_file() else f"no state file at {self.path}"

    def apply(self) -> None:
        with self._lock:
            if self.shut:
                raise FaultError("the run is stopping")
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
                db.execute("BEGIN EXCLUSIVE")
            except sqlite3.Error as exc:
                raise FaultError(f"could not lock {self.path}: {exc}") from None
            self.db = db
            if _writable(self.path):  # the fault must bite, or the run proves nothing
                self.db.close()
                self.db = None
                raise FaultError(f"BEGIN EXCLUSIVE on {self.path} did not stop a writer")

    def clear(self, final: bool = False) -> None:
        """Undo the fault; ``final``: for good, the run is stopping."""
        with self._lock:
            self.shut |= final
            if self.db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("ROLLBACK")
                self.db.close()
                self.db = None


def _writable(path: Path) -> bool:
    """Another connection could start writing ``path`` right now."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


# --- the server's log, as far as faults go ----------------------------------------------

class PassLog:
    """Publish passes as the server logged them, each at the time it logged it: which
    failed, which succeeded; and which of its error lines a fault explains."""

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines
        self.failures: list[float] = []
        self.successes: list[float] = []
        self.healed: list[tuple[float, int]] = []  # (when, failed attempts before)
        self._stamp = 0.0
        self._excused = False  # the last stamped line was a failed pass during a fault
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        found = _STAMP.match(text)
        with self._lock:
            if found:
                self._stamp = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                self._excused = False
            if "publish pass failed" in text:
                self.failures.append(self._stamp)
                self._excused = self.deadlines.during(self._stamp)
            elif "publish pass: " in text:
                self.successes.append(self._stamp)
            healed = _HEALED.search(text)
            if healed:
                self.healed.append((self._stamp, int(healed[1])))

    def expected(self, text: str) -> bool:
        """An error line (``line`` has seen it) that a fault explains: a failed pass
        during a fault or before the publisher healed, and its traceback."""
        with self._lock:
            return self._excused and ("publish pass failed" in text
                                      or text.startswith("Traceback"))

    def first_success(self, after: float) -> float | None:
        with self._lock:
            return next((t for t in self.successes if t >= after), None)

    def failed_between(self, began: float, ended: float) -> int:
        with self._lock:
            return sum(began <= t <= ended for t in self.failures)

    def attempts(self, began: float, healed: float) -> int | None:
        """Failed attempts before the pass that healed, as the server counted them."""
        with self._lock:
            return next((n for t, n in reversed(self.healed) if began <= t <= healed), None)


# --- the phase ----------------------------------------------------------------------------

class FaultPhase:
    """Brings about each fault of the schedule, holds kills off meanwhile, and checks
    the recovery: a pass succeeds, and every change made during the fault is served."""

    def __init__(self, plan: Plan, server: Server, truth: Truth, readers: Readers,
                 deadlines: Deadlines, violations: Violations, calm: threading.Event,
                 stop: threading.Event, started: float) -> None:
        self.plan, self.server, self.truth, self.readers = plan, server, truth, readers
        self.deadlines, self.violations = deadlines, violations
        self.calm, self.stop, self.started = calm, stop, started
        self.faults = schedule(plan)
        self.log = PassLog(deadlines)
        self.exclusive = threading.Lock()  # a fault and its recovery, or a kill -9
        self.makers: dict[str, ReadOnlyFeeds | LockedState] = {
            READ_ONLY: ReadOnlyFeeds(server.feeds), LOCKED: LockedState(server.state)}
        self.unavailable: dict[str, str] = {}
        if any(fault.kind == READ_ONLY for fault in self.faults):
            self._check_available(READ_ONLY)

    def _check_available(self, kind: str) -> None:
        reason = self.makers[kind].unavailable()
        if reason is not None and kind not in self.unavailable:
            self.unavailable[kind] = reason
            say(f"fault {kind} skipped: {reason}", self.started)

    def run(self) -> None:
        """Each fault at its time, until churn and kills stop."""
        begun = time.time()
        for fault in self.faults:
            if self.calm.wait(max(0.0, begun + fault.at - time.time())):
                return
            with self.exclusive:
                if self.calm.is_set() or not self.server.up.wait(300):
                    return
                self.inflict(fault)

    def clear(self) -> None:
        """Every fault undone (the run stops: nothing may stay mounted or locked)."""
        for maker in self.makers.values():
            maker.clear(final=True)

    def inflict(self, fault: Fault) -> None:
        self._check_available(fault.kind)
        if fault.kind in self.unavailable:
            fault.skipped = self.unavailable[fault.kind]
            return
        maker = self.makers[fault.kind]
        window = self.deadlines.suspend(time.time())
        try:
            maker.apply()
        except FaultError as exc:
            self.deadlines.drop(window)
            fault.skipped = self.unavailable[fault.kind] = str(exc)
            say(f"fault {fault.kind} skipped: {exc}", self.started)
            return
        fault.began = window.began
        say(f"fault: {fault.kind} for {fault.length:.1f} s", self.started)
        try:
            self.hold(fault)
        finally:
            maker.clear()
        fault.cleared = time.time()
        say(f"fault {fault.kind} cleared after {fault.lasted():.1f} s", self.started)
        self.recover(fault, window)

    def hold(self, fault: Fault) -> None:
        """The fault lasts; status.json says what the publisher makes of it."""
        end = (fault.began or time.time()) + fault.length
        while time.time() < end and not self.stop.wait(POLL):
            self.look_at_status(fault)

    def look_at_status(self, fault: Fault) -> dict | None:
        """status.json as it is now; a "failing" in it is noted on the fault."""
        try:
            status = json.loads((self.server.feeds / "status.json").read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(status, dict):
            return None
        failing = status.get("failing")
        if isinstance(failing, dict):
            fault.failing = (f"attempt {failing.get('attempts')}, next retry "
                             f"{failing.get('next_retry')}: {str(failing.get('error'))[:90]}")
        return status

    def recover(self, fault: Fault, window: Window) -> None:
        """Until a pass has succeeded and every change of the fault is served, or the
        bound is up: then a violation, and the deadlines run again regardless."""
        cleared = fault.cleared or time.time()
        pending = self.changes(fault.began or cleared, cleared)
        fault.changes = len(pending)
        deadline = cleared + self.plan.recovery
        probe = Client(self.server, gzip_ok=False)
        try:
            while not self.stop.is_set():
                if fault.healed is None:
                    fault.healed = self.log.first_success(after=cleared)
                    if fault.healed is not None:
                        window.resumed = fault.healed
                pending = self.unseen(probe, pending, cleared)
                if not pending and fault.visible is None:
                    fault.visible = time.time()
                if fault.healed is not None and fault.visible is not None:
                    break
                if time.time() > deadline:
                    self.too_slow(fault, pending)
                    break
                self.stop.wait(0.5)
                self.look_at_status(fault)
        finally:
            probe.close()
            if window.resumed is None:
                window.resumed = deadline
        fault.failed = self.log.failed_between(fault.began or cleared, window.resumed)
        fault.attempts = self.log.attempts(fault.began or cleared, window.resumed)
        if fault.healed is not None:
            self.status_healed(fault)
        say(f"fault {fault.kind}: {fault.failed} passes failed; {recovery(fault)}",
            self.started)

    def changes(self, began: float, cleared: float) -> list[str]:
        """Articles that came or went while the fault lasted, oldest change first."""
        with self.truth.lock:
            found = [(changed, k.id) for k in self.truth.articles.values()
                     if (changed := k.since if k.since is not None else k.gone) is not None
                     and began <= changed <= cleared]
        return [article_id for _, article_id in sorted(found)]

    def unseen(self, probe: Client, pending: list[str], cleared: float) -> list[str]:
        """The changes not yet served. Until the first is, one request a round; then
        all the others at once, on ``WALKERS`` connections, so the walk adds little."""
        pending = [a for a in pending if self.expected(a, cleared) is not None]
        if not pending or not self.served(probe, pending[0], cleared):
            return pending

        def walk(share: list[str]) -> list[str]:
            client = Client(self.server, gzip_ok=False)
            try:
                return [a for a in share if not self.served(client, a, cleared)]
            finally:
                client.close()

        shares = [pending[1 + i::WALKERS] for i in range(WALKERS)]
        with ThreadPoolExecutor(WALKERS) as pool:
            left = {a for found in pool.map(walk, shares) for a in found}
        return [a for a in pending if a in left]

    def served(self, client: Client, article_id: str, cleared: float) -> bool:
        """The article's page shows what the fault's change made of it (or need not
        any more: see ``expected``)."""
        shown = self.expected(article_id, cleared)
        if shown is None:
            return True
        status = self.readers.fetch(client, f"/articles/{article_id}")
        return status is not None and (status in (200, 304)) == shown

    def expected(self, article_id: str, cleared: float) -> bool | None:
        """Whether the fault's change to this article must be served now (True: its
        page, False: a 404); None if that no longer holds: changed again since, doubtful,
        held only half-written, or due after the fault."""
        with self.truth.lock:
            known = self.truth.articles.get(article_id)
            if known is None or known.doubts:
                return None
            if known.since is not None:
                released = known.release is None or known.release <= cleared
                return True if known.since <= cleared and known.whole and released else None
            return False if known.gone is not None and known.gone <= cleared else None

    def too_slow(self, fault: Fault, pending: list[str]) -> None:
        key, bound = f"{fault.kind} at {fault.at:.0f} s", self.plan.recovery
        if fault.healed is None:
            self.violations.report(
                "no pass succeeded after a fault", key,
                f"{fault.kind}: no publish pass succeeded within {bound:g} s after the fault "
                f"cleared ({self.log.failed_between(fault.began or 0, time.time())} failed); "
                f"status.json: {fault.failing or 'no failure recorded'}")
        if pending:
            self.violations.report(
                "changes lost to a fault", key,
                f"{fault.kind}: {len(pending)} of {fault.changes} changes made during the "
                f"fault still not served {bound:g} s after it cleared, e.g. "
                f"/articles/{pending[0]} (should be "
                f"{'served' if self.expected(pending[0], fault.cleared or 0) else '404'})")

    def status_healed(self, fault: Fault) -> None:
        """After a pass that succeeds, status.json says so: "failing" is null."""
        for _ in range(20):
            status = self.look_at_status(fault)
            if status is not None and status.get("failing") is None:
                return
            self.stop.wait(0.25)
        self.violations.report(
            "status.json still failing after recovery", f"{fault.kind} at {fault.at:.0f} s",
            f"{fault.kind}: a pass succeeded, status.json still says failing: {fault.failing}")


def recovery(fault: Fault) -> str:
    """How long the publisher took to heal, and to serve every change of the fault."""
    cleared = fault.cleared or 0.0
    healed = f"{fault.healed - cleared:.1f} s" if fault.healed else "never"
    visible = f"{fault.visible - cleared:.1f} s" if fault.visible else "never"
    return f"cleared → first good pass {healed}, → all {fault.changes} changes served {visible}"
