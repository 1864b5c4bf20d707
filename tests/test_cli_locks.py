"""One publisher per feeds folder and per state file: a second one, by mistake or by a
second deployment, exits 2 naming the process that holds the folder, and a holder
killed with SIGKILL leaves nothing stale behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.processes import SEEDFEEDS, Server, free_port, stop_process
from support.waiting import wait_for

FERRY = "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\nBody.\n"
ENV = {**os.environ, "PYTHONUTF8": "1", "SEEDFEEDS_WEBSUB_PORT": str(free_port())}


def folders(root: Path, feeds: str = "feeds", state: str = "state.sqlite") -> list[str]:
    seeds = root / "seeds"
    if not seeds.is_dir():
        seeds.mkdir()
        (seeds / "ferry.txt").write_text(FERRY, "utf-8")
    return ["--seeds", str(seeds), "--feeds", str(root / feeds), "--state", str(root / state)]


def seedfeeds(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SEEDFEEDS, command, *args], capture_output=True, text=True,
                          timeout=30, env=ENV)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`seedfeeds publish` on tmp_path's folders, its first pass done."""
    log = tmp_path / "holder.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen([*SEEDFEEDS, "publish", *folders(tmp_path)], stdout=sink,
                                   stderr=subprocess.STDOUT, env=ENV)
    try:
        wait_for(lambda: "publish pass" in log.read_text("utf-8", "replace")
                 or process.poll() is not None, 30, "the holder never published")
        assert process.poll() is None, log.read_text("utf-8", "replace")
        yield process
    finally:
        stop_process(process, signal.SIGKILL)


def assert_refused_naming(done: subprocess.CompletedProcess[str], pid: int, what: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"pid {pid}" in lines[0] and what in lines[0], lines[0]


def test_a_build_on_a_feeds_folder_a_publisher_holds_exits_2_naming_its_pid(tmp_path, holder):
    done = seedfeeds("build", *folders(tmp_path, state="other.sqlite"))
    assert_refused_naming(done, holder.pid, str(tmp_path / "feeds"))
    assert not (tmp_path / "other.sqlite").exists(), "it opened its state before refusing"


def test_a_second_publisher_on_the_same_feeds_folder_exits_2_naming_the_pid(tmp_path, holder):
    done = seedfeeds("publish", *folders(tmp_path, state="other.sqlite"))
    assert_refused_naming(done, holder.pid, str(tmp_path / "feeds"))


def test_a_publisher_of_another_site_on_the_same_state_exits_2_naming_the_pid(tmp_path, holder):
    done = seedfeeds("build", *folders(tmp_path, feeds="other-feeds"))
    assert_refused_naming(done, holder.pid, str(tmp_path / "state.sqlite"))
    assert not (tmp_path / "other-feeds" / "index.json").exists()


def test_a_publisher_killed_with_sigkill_leaves_no_stale_lock(tmp_path, holder):
    holder.kill()
    holder.wait()
    assert (tmp_path / "feeds" / ".publisher.lock").exists()
    done = seedfeeds("build", *folders(tmp_path))
    assert done.returncode == 0, done.stderr


def test_a_lock_file_removed_with_the_feeds_folder_is_taken_again(tmp_path, holder):
    shutil.rmtree(tmp_path / "feeds")
    wait_for(lambda: (tmp_path / "feeds" / ".publisher.lock").is_file(), 10,
             "the publisher did not lock the feeds folder again")
    done = seedfeeds("build", *folders(tmp_path, state="other.sqlite"))
    assert_refused_naming(done, holder.pid, str(tmp_path / "feeds"))


def test_web_servers_take_no_lock_beside_the_publisher(tmp_path, holder):
    with Server("web", "--feeds", str(tmp_path / "feeds"), log=tmp_path / "web.log") as web:
        assert web.get("/all.atom").status == 200

