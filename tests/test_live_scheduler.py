"""The publish scheduler: every change published, one pass at a time, quietly."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from service.live.scheduler import PublishScheduler
from service.seed.folder import READY, SETTLE

from support.waiting import wait_for


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
