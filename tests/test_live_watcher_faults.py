"""The watcher under faults a deployment meets, through the real `seedfeeds serve`: a
seeds folder that goes and comes back (an unmounted share), a seeds folder that is a
symlink, a subfolder that becomes unreadable, the inotify watch limit (issue 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from support.liveserver import LiveServer
from support.processes import stop_process
from support.waiting import wait_for

FERRY = ("The ferry is back! Transport | Harbour\n"
         "Release time:2026-01-05 08:30\n\nThe first electric ferry crossed today.\n")
LIBRARY = ("Libraries reopen on Monday. Culture | City\n"
           "Libraries reopen on Monday. Culture | City\n\nThree libraries open again.\n")
MUSEUM = ("The museum opens a new wing. Culture | City\n"
          "The museum opens a new wing. Culture | City\n\nIt has a whale.\n")
# Without them only the watcher can publish a change within these tests' waits.
NO_RECONCILE = ("--reconcile", "3600")
UNUSED_UID = "64123"  # a user no other process runs as: its inotify quota is ours to fill


def errors(server: LiveServer) -> list[dict]:
    return server.status().get("errors", [])


def pass_count(server: LiveServer) -> int:
    return server.status().get("publish_seconds", {}).get("count", 0)


def test_a_seeds_folder_that_goes_and_comes_back_loses_nothing(tmp_path: Path):
    with LiveServer(tmp_path, *NO_RECONCILE) as server:
        (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
        wait_for(lambda: server.titles() == ["The ferry is back!"], 10)
        shutil.move(server.seeds, tmp_path / "away")  # the share is unmounted
        wait_for(lambda: any(e["path"] == str(server.seeds) for e in errors(server)), 15,
                 "the missing seeds folder was not reported on /status")
        assert server.titles() == ["The ferry is back!"]
        shutil.copytree(tmp_path / "away", server.seeds)  # mounted again: new inodes
        (server.seeds / "library.txt").write_text(LIBRARY, encoding="utf-8")
        wait_for(lambda: len(server.titles()) == 2, 15,
                 "the watcher did not come back with the seeds folder")
        wait_for(lambda: errors(server) == [], 5)
        (server.seeds / "museum.txt").write_text(MUSEUM, encoding="utf-8")
        wait_for(lambda: len(server.titles()) == 3, 5, "no live events after the return")


def test_a_seeds_folder_that_is_a_symlink_gets_live_events(tmp_path: Path):
    (tmp_path / "releases" / "current").mkdir(parents=True)
    (tmp_path / "seeds").symlink_to(tmp_path / "releases" / "current")
    with LiveServer(tmp_path, *NO_RECONCILE) as server:
        wait_for(lambda: pass_count(server) >= 2, 10)  # the build, and the rescan after it
        (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
        wait_for(lambda: server.titles() == ["The ferry is back!"], 5,
                 "a change in a symlinked seeds folder was not published")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop capabilities with setpriv")
def test_a_subfolder_that_becomes_unreadable_keeps_its_articles_across_a_restart(
        tmp_path: Path):
    as_a_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    city = tmp_path / "seeds" / "city"
    city.mkdir(parents=True)
    (city / "library.txt").write_text(LIBRARY, encoding="utf-8")
    (tmp_path / "seeds" / "ferry.txt").write_text(FERRY, encoding="utf-8")
    server = LiveServer(tmp_path, "--reconcile", "1")
    server.command = [*as_a_user, *server.command]
    try:
        with server:
            wait_for(lambda: len(server.titles()) == 2, 10)
            city.chmod(0)
            wait_for(lambda: [e["path"] for e in errors(server)] == ["city"], 10,
                     "the unreadable subfolder was not reported")
            assert len(server.titles()) == 2
        passes = pass_count(server)
        server.process = None
        with server:  # a restart knows the folder's articles only from the state
            wait_for(lambda: pass_count(server) >= passes + 2, 10)
            assert [e["path"] for e in errors(server)] == ["city"]
            assert len(server.titles()) == 2
    finally:
        city.chmod(0o755)


HOLDER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
names = []
for i in range(1600):
    names.append(os.path.join(sys.argv[1], f"w{i}").encode())
    open(names[-1], "w").close()
full = False
while not full:  # every watch this user may have, on as few inotify instances as it takes
    fd = libc.inotify_init1(0)
    assert fd >= 0, ctypes.get_errno()
    full = any(libc.inotify_add_watch(fd, name, 2) < 0 for name in names)
print("full", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run processes as another user")
def test_the_inotify_watch_limit_is_logged_and_watching_falls_back_to_polling(
        tmp_path: Path):
    as_user = ["setpriv", f"--reuid={UNUSED_UID}", f"--regid={UNUSED_UID}", "--clear-groups",
               "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    # Outside pytest's folders (only root may enter those): the server checks with
    # access(), which, for another user, counts no capability.
    root = Path(tempfile.mkdtemp(prefix="seedfeeds-inotify-"))
    holder = None
    try:
        for path in (root / "watches", root / "site" / "seeds"):
            path.mkdir(parents=True)
        for path in (root, root / "watches", root / "site", root / "site" / "seeds"):
            shutil.chown(path, int(UNUSED_UID), int(UNUSED_UID))
        server = LiveServer(root / "site", *NO_RECONCILE)
        server.command = [*as_user, *server.command]
        holder = subprocess.Popen([*as_user, sys.executable, "-c", HOLDER, str(root / "watches")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert holder.stdout is not None and holder.stdout.readline() == b"full\n"
        with server:
            (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
            wait_for(lambda: server.titles() == ["The ferry is back!"], 10,
                     "nothing published the change once the watch limit was reached")
        log = server.log_text()
        assert "inotify watch limit reached" in log and "SEEDFEEDS_POLL" in log
        assert "Traceback" not in log
    finally:
        if holder is not None:
            stop_process(holder)
            for pipe in (holder.stdin, holder.stdout):
                if pipe is not None:
                    pipe.close()
        shutil.rmtree(root, ignore_errors=True)
