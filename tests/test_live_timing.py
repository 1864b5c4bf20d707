"""When live publishing publishes a change, through the real `seedfeeds serve`: a file
that is complete (closed after writing, renamed into place) at once, whatever the
debounce; a burst of files in a few passes; an editor's save in one pass that never
unpublishes the file it saves."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from support.liveserver import LiveServer
from support.waiting import wait_for

pytestmark = pytest.mark.timed  # asserts how soon things happen: `make test` runs it alone

SLOW_DEBOUNCE = ("--debounce", "3")  # a pass within a second cannot be the debounce's


def article(n: int, tag: str = "Bulk") -> str:
    header = f"Story number {n} arrives! {tag} | News"
    return f"{header}\n{header}\n\nBody text of story {n}.\n"


def pass_count(server: LiveServer) -> int:
    return server.status().get("publish_seconds", {}).get("count", 0)


def settled(server: LiveServer) -> int:
    """The pass count once the start-up build and its rescan are done."""
    wait_for(lambda: pass_count(server) >= 2, 15, "the start-up passes did not end")
    return pass_count(server)


def test_a_closed_file_is_served_within_a_second_however_long_the_debounce(tmp_path: Path):
    with LiveServer(tmp_path, *SLOW_DEBOUNCE) as server:
        settled(server)
        with open(server.seeds / "story.txt", "w", encoding="utf-8") as stream:
            stream.write(article(1))
        closed = time.monotonic()
        wait_for(lambda: "Story number 1 arrives!" in server.titles("/tags/bulk.atom"), 2,
                 "the closed file waited for the debounce")
        assert time.monotonic() - closed < 1


def test_a_renamed_file_is_published_at_once_in_one_pass(tmp_path: Path):
    with LiveServer(tmp_path, "--debounce", "1") as server:
        (server.seeds / "story.txt").write_text(article(1), encoding="utf-8")
        wait_for(lambda: server.titles(), 5)
        time.sleep(1.5)
        passes = pass_count(server)
        (server.seeds / "story.txt").rename(server.seeds / "renamed.txt")
        wait_for(lambda: pass_count(server) > passes, 0.5, "the rename waited")
        time.sleep(1.5)  # the debounce is over: no second pass for the old name
        assert pass_count(server) == passes + 1
        assert server.status()["warnings"] == []
        assert server.status()["last_pass"]["files"] == 1


@pytest.mark.parametrize("copy", ["files into seeds/", "a folder into seeds/"])
def test_a_thousand_files_copied_in_at_once_are_published_in_a_few_passes(
        tmp_path: Path, copy: str):
    batch = tmp_path / "batch"
    batch.mkdir()
    for n in range(1000):
        (batch / f"story-{n:04d}.txt").write_text(article(n), encoding="utf-8")
    with LiveServer(tmp_path / "site", "--entries", "1000") as server:
        before = settled(server)
        if copy == "files into seeds/":
            subprocess.run(["cp", *sorted(map(str, batch.iterdir())), str(server.seeds)],
                           check=True)
        else:
            subprocess.run(["cp", "-r", str(batch), str(server.seeds / "batch")], check=True)
        wait_for(lambda: server.status().get("last_pass", {}).get("articles") == 1000, 20,
                 "the copied files were not all published")
        time.sleep(1.5)  # any pass still to come for the burst
        assert pass_count(server) - before <= 5


def test_a_folder_moved_in_is_published_in_one_pass(tmp_path: Path):
    """watchdog reports the files of a folder moved in by walking it: created, with no
    close, so they settle; the rescan the folder asks for takes them, in one pass."""
    batch = tmp_path / "batch"
    batch.mkdir()
    for n in range(100):
        (batch / f"story-{n:04d}.txt").write_text(article(n), encoding="utf-8")
    with LiveServer(tmp_path / "site") as server:
        before = settled(server)
        os.rename(batch, server.seeds / "batch")
        wait_for(lambda: server.status().get("last_pass", {}).get("articles") == 100, 10,
                 "the moved folder was not published")
        time.sleep(1.5)  # any pass still to come for it
        assert pass_count(server) - before == 1


def test_an_editor_that_renames_the_original_away_to_save_never_unpublishes_it(
        tmp_path: Path):
    """vim and emacs save by renaming ``name`` to ``name~``, writing ``name`` anew and
    deleting ``name~``; on a busy machine the new file may come many milliseconds after
    the rename."""
    with LiveServer(tmp_path) as server:
        path = server.seeds / "story.txt"
        path.write_text(article(1), encoding="utf-8")
        wait_for(lambda: server.titles(), 5)
        time.sleep(0.5)
        passes = pass_count(server)
        seen: set[int] = set()
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                seen.add(server.status().get("last_pass", {}).get("articles", -1))
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            os.rename(path, server.seeds / "story.txt~")
            time.sleep(0.05)
            path.write_text(article(1).replace("Body text", "Edited text"), encoding="utf-8")
            (server.seeds / "story.txt~").unlink()
            wait_for(lambda: "Edited text" in server.body("/all.atom").decode(), 5)
            time.sleep(0.5)
        finally:
            stop.set()
            watcher.join()
        assert seen == {1}, f"article counts seen during the save: {sorted(seen)}"
        assert pass_count(server) == passes + 1
