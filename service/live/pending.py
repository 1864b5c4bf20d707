"""The changes waiting for a publish pass, and when each may go: decided from the
watcher's events, the clock and the files' mtimes alone (no thread, no job), for the
scheduler, which asks under its lock.

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

import os
import time
from dataclasses import dataclass, field

from service.seed.folder import QUIET, READY, RESCAN, SETTLE, settling_for

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
# Seconds after it is asked for by which a rescan runs, however long the burst of events
# goes on: a folder of a few thousand files copied in, and its settling, end well within
# it on a busy machine.
RESCAN_HOLD = 5.0


@dataclass
class Taken:
    """What may be published now, and when to look again."""

    ready: set[str]  # the files to publish now
    wait: float | None  # monotonic time the next pending file may go (None: none waits)
    settled: list[str]  # the settled files left to the pending rescan
    rescan_at: float | None  # monotonic time the pending rescan is due (None: none)


@dataclass
class Pending:
    """The changes recorded and not yet published, with their times (monotonic)."""

    seeds: str
    debounce: float
    settle: float = QUIET
    rescan_hold: float = RESCAN_HOLD
    # relative path -> (READY or SETTLE, monotonic time before which it waits)
    files: dict[str, tuple[str, float]] = field(default_factory=dict)
    # When a pending rescan is due: at the earliest (the debounce after the last event),
    # and at the latest (``rescan_hold`` after it was asked for).
    rescan_at: float | None = None
    rescan_by: float | None = None
    last_event: float = 0.0  # of the last record
    gathering: bool = False  # complete files of a burst wait for it to pause

    def record(self, path: str | None, kind: str, draining: bool) -> float:
        """Record an event; when (monotonic) a pass should look at it: within
        ``GATHER`` for a complete file, after the debounce for anything else. A pending
        rescan's debounce starts again with every event, of a folder or a file, so a
        folder copied in is rescanned once, after its files."""
        now = time.monotonic()
        at = now + self.debounce
        if kind == RESCAN or path is None:
            if self.rescan_by is None:  # the first ask of this rescan bounds its wait
                self.rescan_by = now + self.rescan_hold
        elif kind == READY:  # closed during a burst (a pass runs): waits for its end
            burst = draining or self.gathering
            self.files[path] = (READY, now + BURST_HOLD if burst else now)
            at = now + GATHER
        else:
            self.files[path] = (SETTLE, at)
        if self.rescan_by is not None:  # a rescan is pending: the burst goes on
            self.rescan_at = now + self.debounce
        self.last_event = now
        return at

    def recheck(self, paths: list[str]) -> float | None:
        """These files once they are quiet (a rescan found them still changing); when
        to look, None if there were none. An event pending for one of them is newer
        news (a close says it is complete), so it is kept."""
        at = time.monotonic() + self.debounce
        for path in paths:
            self.files.setdefault(path, (SETTLE, at))
        return at if paths else None

    def take(self) -> Taken:
        """The pending files that may be published now (taken out), when the next one
        may, the settled files left to a pending rescan, and when that rescan is due.

        A READY file closed during a burst may be published once the events have paused
        for ``PAUSE`` (or ``BURST_HOLD`` after its close), and when one READY file may be,
        all pending go with it. A SETTLE file may be once its debounce has passed and it
        has been quiet for ``settle`` seconds (one that is gone is complete, once the
        debounce has passed). While a rescan is pending, such a file is left to it, and
        the rescan waits until the last one pending may be published (within
        ``rescan_hold``): the settled files of a burst and its rescan make one pass, not
        one each."""
        now, wall, ready = time.monotonic(), time.time(), set()
        holding = self.rescan_by is not None
        wait: float | None = None
        settled: list[str] = []
        gathering: list[str] = []  # READY files of a burst that is going on
        last = now  # when the last SETTLE file pending may be published
        for path, (kind, not_before) in list(self.files.items()):
            left = not_before - now
            if kind == READY:
                left = min(left, self.last_event + PAUSE - now)
                if left > 0:
                    gathering.append(path)
            if kind == SETTLE and left <= 0:
                try:
                    mtime = os.stat(os.path.join(self.seeds, path)).st_mtime
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
                del self.files[path]
        if gathering and ready:
            ready.update(gathering)  # a pass publishes them anyway: with the rest
            for path in gathering:
                del self.files[path]
            gathering = []
        self.gathering = bool(gathering)
        rescan_at = None
        if self.rescan_at is not None and self.rescan_by is not None:
            rescan_at = min(max(self.rescan_at, last), self.rescan_by)
        return Taken(ready, None if wait is None else now + wait, settled, rescan_at)

    def take_rescan(self, settled: list[str]) -> None:
        """The pending rescan is about to run. It reads the ``settled`` files, which are
        done with; files still settling stay pending (the rescan leaves them too)."""
        self.rescan_at = self.rescan_by = None
        for path in settled:
            del self.files[path]
