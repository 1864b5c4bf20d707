"""The publish scheduler: every change published, one pass at a time, quietly."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from service.live.scheduler import PublishScheduler
from service.seed.folder import READY, RESCAN, SETTLE

from support.waiting import wait_for

pytestmark = pytest.mark.timed  # asserts how soon things happen: `make test` runs it alone


def test_changes_during_a_pass_are_published_after_it_with_no_skipped_job_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture):
    first_started, finish_first = threading.Event(), threading.Event()
    published: list[set[str] | None] = []

    def publish(paths: set[str] | None) -> None:
        published.append(paths)
        if len(published) == 1:
            first_started.set()
            finish_first.wait(3)

    scheduler = PublishScheduler(publish, tmp_path, debounce=0.05, reconcile=300)
    scheduler.start()
    during = {f"during-{n}.txt" for n in range(4)}
    try:
        scheduler.notify("first.txt", READY)
        assert first_started.wait(3)
        for path in sorted(during):  # each debounce ends while the first pass runs
            scheduler.notify(path, READY)
            time.sleep(0.1)
        finish_first.set()
        wait_for(lambda: {p for paths in published[1:] for p in paths or ()} == during, 3,
                 "changes made during a pass were not published")
    finally:
        scheduler.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []


def test_a_file_dated_in_the_future_is_published_without_waiting_for_that_time(
        tmp_path: Path):
    published: list[set[str] | None] = []
    (tmp_path / "copied.txt").write_text("Copied from a clock an hour ahead.\n")
    ahead = time.time() + 3600
    os.utime(tmp_path / "copied.txt", (ahead, ahead))
    scheduler = PublishScheduler(published.append, tmp_path, debounce=0.05, reconcile=300)
    scheduler.start()
    try:
        scheduler.notify("copied.txt", SETTLE)
        wait_for(lambda: {"copied.txt"} in published, 3, "it waited for its future mtime")
    finally:
        scheduler.stop()


class Passes:
    """What a scheduler published, pass by pass, and when (monotonic seconds)."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds  # how long each pass takes
        self.runs: list[tuple[float, set[str] | None]] = []

    def __call__(self, paths: set[str] | None) -> None:
        self.runs.append((time.monotonic(), paths))
        time.sleep(self.seconds)

    def paths(self) -> set[str]:
        return {path for _, paths in self.runs for path in paths or ()}

    def when(self, path: str) -> float:
        return next(at for at, paths in self.runs if paths and path in paths)


@pytest.fixture
def started(tmp_path: Path):
    """Start a scheduler of ``tmp_path`` (stopped after the test)."""
    schedulers: list[PublishScheduler] = []

    def start(passes: Passes, **timing: float) -> PublishScheduler:
        scheduler = PublishScheduler(passes, tmp_path, reconcile=300, **timing)
        scheduler.start()
        schedulers.append(scheduler)
        return scheduler

    yield start
    for scheduler in schedulers:
        scheduler.stop()


def test_a_complete_file_is_published_at_once_however_long_the_debounce(
        tmp_path: Path, started):
    (tmp_path / "closed.txt").write_text("Written and closed.\n")
    passes = Passes()
    scheduler = started(passes, debounce=5)
    notified = time.monotonic()
    scheduler.notify("closed.txt", READY)
    wait_for(lambda: passes.runs, 2, "a complete file waited for the debounce")
    assert passes.runs[0][1] == {"closed.txt"}
    assert passes.when("closed.txt") - notified < 0.5


def test_a_file_still_being_written_waits_until_it_has_been_quiet(tmp_path: Path, started):
    passes = Passes()
    scheduler = started(passes, debounce=0.05, settle=0.8)
    (tmp_path / "growing.txt").write_text("The first lines of a file being written.\n")
    written = time.monotonic()
    scheduler.notify("growing.txt", SETTLE)
    wait_for(lambda: passes.runs, 3, "a quiet file was never published")
    assert passes.when("growing.txt") - written >= 0.7


def test_a_file_still_being_written_does_not_hold_back_a_complete_one(
        tmp_path: Path, started):
    (tmp_path / "growing.txt").write_text("Still being written.\n")
    (tmp_path / "closed.txt").write_text("Written and closed.\n")
    passes = Passes()
    scheduler = started(passes, debounce=5)
    scheduler.notify("growing.txt", SETTLE)
    notified = time.monotonic()
    scheduler.notify("closed.txt", READY)
    wait_for(lambda: passes.runs, 2, "the complete file waited for the other one")
    assert passes.runs[0][1] == {"closed.txt"}
    assert passes.when("closed.txt") - notified < 0.5


def test_a_burst_of_complete_files_is_gathered_into_a_few_passes(tmp_path: Path, started):
    names = [f"copied-{n:04d}.txt" for n in range(1000)]
    for name in names:
        (tmp_path / name).write_text("One of a folder of files copied in.\n")
    passes = Passes(seconds=0.1)  # reading many files takes a while: the burst goes on
    scheduler = started(passes, debounce=0.2)
    began = time.monotonic()
    for name in names:  # a close event every 0.3 ms or so, for 0.3 s
        scheduler.notify(name, READY)
        time.sleep(0.0002)
    burst = time.monotonic() - began
    wait_for(lambda: passes.paths() == set(names), 5, "some copied files were not published")
    assert len(passes.runs) <= burst / passes.seconds + 2, f"{len(passes.runs)} passes"


def test_a_rescan_waits_for_the_debounce_after_the_last_folder_event_but_a_file_does_not(
        tmp_path: Path, started):
    (tmp_path / "closed.txt").write_text("Written and closed.\n")
    passes = Passes()
    scheduler = started(passes, debounce=0.5)
    for _ in range(3):  # a folder copied in: a few folder events in a row
        time.sleep(0.1)
        scheduler.notify(None, RESCAN)
    last_folder_event = time.monotonic()
    scheduler.notify("closed.txt", READY)
    wait_for(lambda: None in [paths for _, paths in passes.runs], 3, "no rescan")
    assert [paths for _, paths in passes.runs] == [{"closed.txt"}, None]
    assert passes.when("closed.txt") - last_folder_event < 0.3
    assert passes.runs[1][0] - last_folder_event >= 0.45


def test_a_folder_copied_in_is_rescanned_once_after_its_files_with_those_that_settle(
        tmp_path: Path, started):
    """A folder copied in: its event, the close of each file copied after the watch on
    it began, and a created event alone for each file it had already (watchdog's walk
    of the new folder): those settle. One rescan after the burst takes them all."""
    passes = Passes(seconds=0.05)
    scheduler = started(passes, debounce=0.1, settle=0.4)
    scheduler.notify(None, RESCAN)  # the folder
    walked = [f"walked-{n}.txt" for n in range(10)]
    closed = [f"closed-{n}.txt" for n in range(10)]
    notified: dict[str, float] = {}
    for old, new in zip(walked, closed, strict=True):  # the copy: 1 s of events
        (tmp_path / old).write_text("Copied before the folder was watched.\n")
        last_write = time.monotonic()
        scheduler.notify(old, SETTLE)
        (tmp_path / new).write_text("Copied once the folder was watched.\n")
        scheduler.notify(new, READY)
        notified[new] = time.monotonic()
        time.sleep(0.1)  # a pause in the burst: the closed files go out, not held back
    wait_for(lambda: None in [paths for _, paths in passes.runs], 5, "no rescan")
    time.sleep(0.6)  # nothing more to come
    rescans = [at for at, paths in passes.runs if paths is None]
    assert len(rescans) == 1
    assert rescans[0] - last_write >= 0.35  # once the last file copied had settled
    assert passes.runs[-1][1] is None  # the settled files are the rescan's to read
    assert passes.paths() == set(closed)
    assert all(passes.when(path) - notified[path] < 0.3 for path in closed)


def test_a_file_written_without_end_does_not_hold_a_rescan_back(tmp_path: Path, started):
    passes = Passes()
    scheduler = started(passes, debounce=0.1, settle=0.3, rescan_hold=0.6)
    asked = time.monotonic()
    scheduler.notify(None, RESCAN)
    growing = tmp_path / "growing.txt"
    while time.monotonic() - asked < 1.5:  # a log written line by line
        with open(growing, "a", encoding="utf-8") as stream:
            stream.write("Another line.\n")
        scheduler.notify("growing.txt", SETTLE)
        time.sleep(0.05)
    rescans = [at for at, paths in passes.runs if paths is None]
    assert rescans, "the rescan waited for the file"
    assert 0.55 <= rescans[0] - asked < 1.0


def closes(scheduler: PublishScheduler, names: list[str], every: float) -> dict[str, float]:
    """Notify the close of each file in turn, ``every`` seconds apart; when each came."""
    closed: dict[str, float] = {}
    for name in names:
        scheduler.notify(name, READY)
        closed[name] = time.monotonic()
        time.sleep(every)
    return closed


def test_files_closed_during_a_pass_wait_for_the_burst_to_pause(tmp_path: Path, started):
    names = [f"copied-{n:03d}.txt" for n in range(300)]
    passes = Passes(seconds=0.05)  # a pass is short beside the copy: it would go on
    scheduler = started(passes, debounce=0.2)
    closed = closes(scheduler, names, 0.002)  # 0.6 s or more of closes
    wait_for(lambda: passes.paths() == set(names), 5, "some copied files were not published")
    assert len(passes.runs) == 2, f"{len(passes.runs)} passes"
    assert names[0] in (passes.runs[0][1] or ())  # the first at once, the rest after the copy
    assert passes.when(names[-1]) - closed[names[-1]] < 0.3


def test_a_burst_that_goes_on_is_published_every_second_or_so(tmp_path: Path, started):
    names = [f"copied-{n:04d}.txt" for n in range(1000)]
    passes = Passes(seconds=0.05)
    scheduler = started(passes, debounce=0.2)
    closed = closes(scheduler, names, 0.0025)  # 2.5 s or more, never pausing
    wait_for(lambda: passes.paths() == set(names), 5, "some copied files were not published")
    burst = max(closed.values()) - min(closed.values())
    assert len(passes.runs) <= burst + 2, f"{len(passes.runs)} passes in {burst:.1f} s"
    assert max(passes.when(name) - closed[name] for name in names) < 1.5
