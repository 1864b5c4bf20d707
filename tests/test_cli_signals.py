"""Signals stop every command cleanly at any moment: a cold build that has forked its
render workers included (none is left behind), with a log line that says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.liveserver import LiveServer
from support.processes import SEEDFEEDS, free_port
from support.waiting import wait_for

GENERATOR = Path(__file__).resolve().parent.parent / "bench" / "make_corpus.py"
ENV = {**os.environ, "PYTHONUTF8": "1"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6,000 small articles: enough render jobs for a cold build to fork workers."""
    seeds = tmp_path_factory.mktemp("signals") / "seeds"
    subprocess.run([sys.executable, str(GENERATOR), str(seeds), "--articles", "6000",
                    "--files", "20", "--tags", "60", "--seed", "7"], check=True)
    return seeds


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid``, from /proc."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit() and _parent(int(name)) == pid and _alive(int(name)):
            found.add(int(name))
    return found


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    """Running or sleeping: not gone, not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


@pytest.fixture
def cold_build(corpus: Path, tmp_path: Path) -> Iterator[Callable[..., tuple]]:
    """Start a command that begins with a cold build of the corpus; returns the process
    and its render workers, once it has forked them. Leftover workers are killed after."""
    seen: set[int] = set()

    def start(command: str, *extra: str, **popen: object):
        log = tmp_path / f"{command}.log"
        with open(log, "wb") as sink:
            process = subprocess.Popen(
                [*SEEDFEEDS, command, "--seeds", str(corpus), "--feeds", str(tmp_path / "feeds"),
                 "--state", str(tmp_path / "state.sqlite"), *extra],
                stdout=sink, stderr=subprocess.STDOUT, env=ENV, **popen)
        wait_for(lambda: children(process.pid) or process.poll() is not None, 60,
                 "no render worker was forked", interval=0.005)
        time.sleep(0.05)  # the pool forks all its workers at once: let the others come
        workers = children(process.pid)
        seen.update(workers)
        assert process.poll() is None and workers, f"it finished first: {log.read_text()}"
        return process, workers, log

    yield start
    for pid in seen:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def assert_stopped_cleanly(process: subprocess.Popen[bytes], workers: set[int], log: Path,
                           name: str) -> None:
    code = process.wait(30)
    text = log.read_text("utf-8", "replace")
    assert code > 0, f"exit {code}: an interrupted build is not a success, nor a kill\n{text}"
    assert f"received {name}, stopping" in text, text
    assert "Traceback" not in text, text
    wait_for(lambda: not any(_alive(pid) for pid in workers), 5,
             f"render workers left running: {[p for p in workers if _alive(p)]}")


@pytest.mark.parametrize("command", ["build", "publish", "serve"])
def test_sigterm_during_a_cold_build_stops_it_and_its_workers(cold_build, command):
    extra = {"serve": ("--port", str(free_port())),
             "publish": ("--websub-port", str(free_port()))}.get(command, ())
    process, workers, log = cold_build(command, *extra)
    process.send_signal(signal.SIGTERM)
    assert_stopped_cleanly(process, workers, log, "SIGTERM")


def test_ctrl_c_during_a_cold_build_stops_it_and_its_workers(cold_build):
    """Ctrl-C sends SIGINT to the whole process group, workers included."""
    process, workers, log = cold_build("build", start_new_session=True)
    os.killpg(process.pid, signal.SIGINT)
    assert_stopped_cleanly(process, workers, log, "SIGINT")


def test_sighup_stops_serve_cleanly(tmp_path):
    with LiveServer(tmp_path) as server:
        assert server.stop(signal.SIGHUP) == 0
        log = server.log_text()
        assert "received SIGHUP, stopping" in log
        assert "publisher stopped" in log
        assert "Traceback" not in log
