"""Lanes: a few threads for many hosts, a few jobs per host at a time, hosts in turn."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from service.push.lanes import Lanes

from support.waiting import wait_for


def test_one_host_never_runs_more_than_its_share_and_never_blocks_another() -> None:
    lanes = Lanes(workers=4, per_host=2, name="test")
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()
    lock, release = threading.Lock(), threading.Event()
    done: list[str] = []

    def job(host: str) -> None:
        with lock:
            running[host] += 1
            most[host] = max(most[host], running[host])
        if host == "busy.example":
            release.wait(10)
        with lock:
            running[host] -= 1
            done.append(host)

    lanes.start()
    try:
        for _ in range(50):
            lanes.submit("busy.example", lambda: job("busy.example"))
        lanes.submit("other.example", lambda: job("other.example"))
        # 48 jobs of the busy host wait, two run: the other host's job runs at once.
        wait_for(lambda: "other.example" in done, 5, "the other host waited behind the busy one")
        assert most["busy.example"] == 2
        assert lanes.busy() == 50
        release.set()
        wait_for(lambda: len(done) == 51, 10)
        assert most["busy.example"] == 2
        assert lanes.busy() == 0
    finally:
        release.set()
        assert lanes.stop(5)


def test_hosts_take_turns() -> None:
    lanes = Lanes(workers=1, per_host=1, name="test")
    order: list[str] = []
    gate = threading.Event()
    lanes.submit("a", lambda: gate.wait(5))  # holds the one worker while the others queue
    for n in range(3):
        for host in ("a", "b", "c"):
            lanes.submit(host, lambda host=host, n=n: order.append(f"{host}{n}"))
    lanes.start()
    gate.set()
    wait_for(lambda: len(order) == 9, 5)
    # Every round serves each host once: no host runs twice before the others ran.
    for start in (0, 3, 6):
        assert {name[0] for name in order[start:start + 3]} == {"a", "b", "c"}, order
    assert lanes.stop(5)


def test_a_failing_job_does_not_end_its_worker() -> None:
    lanes = Lanes(workers=1, per_host=1, name="test")
    ran = threading.Event()
    lanes.start()
    lanes.submit("a", lambda: 1 / 0)  # type: ignore[arg-type, func-returns-value]
    lanes.submit("a", ran.set)
    assert ran.wait(5)
    assert lanes.stop(5)


@pytest.mark.timed  # a latency: run alone
def test_stop_drops_what_waits_and_waits_a_bounded_time_for_what_runs() -> None:
    lanes = Lanes(workers=1, per_host=1, name="test")
    ran: list[int] = []
    hold, started = threading.Event(), threading.Event()
    lanes.start()

    def held() -> None:
        started.set()
        hold.wait(5)

    lanes.submit("a", held)
    lanes.submit("a", lambda: ran.append(1))
    assert started.wait(5)
    began = time.monotonic()
    assert not lanes.stop(0.2)  # the running job is still running
    assert time.monotonic() - began < 2
    hold.set()
    time.sleep(0.1)
    assert ran == []


def test_workers_start_as_they_are_needed_and_no_more() -> None:
    """A pool of 128 for slow callbacks costs an idle hub (and each test) no thread."""
    lanes = Lanes(workers=64, per_host=2, name="test")
    release = threading.Event()
    done: list[str] = []
    lanes.start()
    try:
        assert lanes.threads() == 0
        for _ in range(30):
            lanes.submit("busy.example", lambda: release.wait(10))
        wait_for(lambda: lanes.busy() == 30 and lanes.threads() == 2, 5)
        time.sleep(0.2)
        assert lanes.threads() == 2  # one host, two at a time: two workers are enough
        lanes.submit("other.example", lambda: done.append("other"))
        wait_for(lambda: done == ["other"], 5, "the other host waited")
        assert lanes.threads() == 3
        release.set()
        wait_for(lambda: lanes.busy() == 0, 10)
        assert lanes.threads() == 3
    finally:
        release.set()
        assert lanes.stop(5)


def test_a_worker_the_system_refuses_is_forgotten_and_the_others_do_its_share(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lanes = Lanes(workers=4, per_host=1, name="test")
    start = threading.Thread.start
    started: list[threading.Thread] = []

    def limited(thread: threading.Thread) -> None:
        if thread.name.startswith("test-") and started:
            raise RuntimeError("can't start new thread")
        started.append(thread)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", limited)
    done: list[str] = []
    lanes.start()
    try:
        lanes.submit_all([(host, lambda host=host: done.append(host)) for host in "abcd"])
        wait_for(lambda: sorted(done) == ["a", "b", "c", "d"], 5)
        assert lanes.threads() == 1
    finally:
        assert lanes.stop(5)
