"""Live publishing, end to end: the real `seedfeeds serve`, real files, real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support.liveserver import LiveServer
from support.processes import SEEDFEEDS, free_port
from support.sitecheck import assert_valid_site
from support.waiting import wait_for

FERRY = ("The ferry is back! Transport | Harbour\n"
         "Release time:2026-01-05 08:30\n\nThe first electric ferry crossed today.\n")
LIBRARY = ("Libraries reopen on Monday. Culture | City\n"
           "Libraries reopen on Monday. Culture | City\n\nThree libraries open again.\n")


def article(n: int, tag: str = "Bulk", body: str = "Body text.") -> str:
    header = f"Story number {n} arrives! {tag} | News"
    return f"{header}\n{header}\n\n{body}\n\n"


def pass_count(server: LiveServer) -> int:
    return server.status().get("publish_seconds", {}).get("count", 0)


@pytest.fixture
def server(tmp_path: Path):
    with LiveServer(tmp_path, "--entries", "1000") as live:
        yield live


@pytest.mark.timed  # a latency: run alone
def test_a_new_file_appears_in_its_tag_feeds_and_the_all_feed_within_2_s(server):
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    start = time.monotonic()
    wait_for(lambda: "The ferry is back!" in server.titles("/tags/harbour.atom"), 2,
             "not published within 2 s")
    assert time.monotonic() - start < 2
    assert "The ferry is back!" in server.titles("/all.atom")
    assert "The ferry is back!" in server.titles("/tags/transport.rss")


def test_an_edit_moves_updated_only(server):
    path = server.seeds / "ferry.txt"
    path.write_text(FERRY, encoding="utf-8")
    wait_for(lambda: server.feed("/all.atom").entries, 10)
    before = server.feed("/all.atom").entries[0]
    time.sleep(1.1)  # times have whole seconds
    path.write_text(FERRY.replace("crossed today", "crossed the river today"), "utf-8")
    wait_for(lambda: server.feed("/all.atom").entries[0].updated != before.updated, 10,
             "the edit was not published")
    after = server.feed("/all.atom").entries[0]
    assert (after.id, after.published, after.title) == (before.id, before.published,
                                                        before.title)
    assert "crossed the river today" in after.content[0].value


def test_renaming_and_moving_into_a_subfolder_change_no_id_and_duplicate_nothing(server):
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    wait_for(lambda: server.feed("/all.atom").entries, 10)
    ids = [e.id for e in server.feed("/all.atom").entries]
    (server.seeds / "ferry.txt").rename(server.seeds / "renamed.txt")
    (server.seeds / "archive").mkdir()
    time.sleep(0.5)
    (server.seeds / "renamed.txt").rename(server.seeds / "archive" / "moved.txt")
    time.sleep(1.0)
    wait_for(lambda: [e.id for e in server.feed("/all.atom").entries] == ids, 10)
    assert [e.id for e in server.feed("/tags/harbour.atom").entries] == ids


def test_a_deletion_unpublishes(server):
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    (server.seeds / "library.txt").write_text(LIBRARY, encoding="utf-8")
    wait_for(lambda: len(server.titles()) == 2, 10)
    (server.seeds / "ferry.txt").unlink()
    wait_for(lambda: server.titles() == ["Libraries reopen on Monday."], 10,
             "the deletion was not published")
    assert server.feed("/tags/harbour.atom").entries == []


def test_an_editor_style_save_makes_exactly_one_pass(server):
    path = server.seeds / "ferry.txt"
    path.write_text(FERRY, encoding="utf-8")
    wait_for(lambda: server.titles(), 10)
    time.sleep(0.5)
    passes = pass_count(server)
    temp = server.seeds / ".ferry.txt.swp"
    temp.write_text(FERRY.replace("today", "this morning"), encoding="utf-8")
    os.replace(temp, path)
    wait_for(lambda: "this morning" in server.feed("/all.atom").entries[0].content[0].value, 10)
    time.sleep(0.6)
    assert pass_count(server) == passes + 1


@contextlib.contextmanager
def article_counts(server: LiveServer) -> Iterator[set[int]]:
    """Every article count the status reports while the block runs (polled every 20 ms)."""
    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.add(server.status().get("last_pass", {}).get("articles", 0))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield seen
    finally:
        stop.set()
        watcher.join()


def test_a_file_written_slowly_is_never_published_half(server):
    articles = 2200
    body = "A long paragraph of text that makes this file large. " * 45
    chunks = [article(n, body=body) for n in range(articles)]
    size = 0
    with article_counts(server) as seen:
        with open(server.seeds / "big.txt", "w", encoding="utf-8") as stream:
            for n in range(30):  # about 5 MB over 3 s through one open file
                part = "".join(chunks[n * articles // 30:(n + 1) * articles // 30])
                stream.write(part)
                stream.flush()
                size += len(part)
                time.sleep(0.1)
        wait_for(lambda: server.status().get("last_pass", {}).get("articles") == articles,
                 10, "the finished file was not published")
    assert size > 5_000_000
    assert seen <= {0, articles}, f"partial article counts seen: {sorted(seen)}"


def test_a_file_written_slowly_is_never_published_half_by_the_reconcile(tmp_path):
    with LiveServer(tmp_path, "--reconcile", "1") as server, article_counts(server) as seen:
        with open(server.seeds / "slow.txt", "w", encoding="utf-8") as stream:
            for n in range(16):  # 2.4 s: two or three rescans see it half written
                stream.write(article(n))
                stream.flush()
                time.sleep(0.15)
        wait_for(lambda: server.status().get("last_pass", {}).get("articles") == 16, 5,
                 "the finished file was not published")
    assert seen <= {0, 16}, f"partial article counts seen: {sorted(seen)}"


@pytest.mark.timed  # a latency: run alone
def test_two_hundred_files_dropped_at_once_publish_in_a_handful_of_passes(server):
    passes = pass_count(server)
    for n in range(200):
        (server.seeds / f"drop{n:03d}.txt").write_text(article(n), encoding="utf-8")
    wait_for(lambda: server.status().get("last_pass", {}).get("articles") == 200, 10)
    time.sleep(0.5)
    assert pass_count(server) - passes <= 5


@pytest.mark.timed  # a latency: run alone
def test_an_embargoed_article_appears_within_1_s_of_its_release_time(server):
    release = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    text = f"Coming soon! Harbour | News\nRelease time:{release:%Y-%m-%d %H:%M:%S}\n\nBody.\n"
    (server.seeds / "soon.txt").write_text(text, encoding="utf-8")
    time.sleep(1)
    assert "Coming soon!" not in server.titles()
    assert server.status()["last_pass"]["embargoed"] == 1
    wait_for(lambda: "Coming soon!" in server.titles(), 5, "never released")
    late = datetime.now(UTC) - release
    assert late < timedelta(seconds=1), f"released {late} after its time"
    assert "Coming soon!" in server.titles("/tags/harbour.atom")


def test_with_the_watcher_off_the_reconcile_alone_publishes_a_new_file(tmp_path):
    with LiveServer(tmp_path, "--watch", "false", "--reconcile", "1") as server:
        (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
        wait_for(lambda: server.titles(), 4, "the reconcile did not publish the file")


def test_a_change_during_a_running_pass_is_published_by_the_next_pass(server):
    body = "Words of a long article. " * 40
    passes = pass_count(server)
    (server.seeds / "big.txt").write_text("".join(article(n, body=body) for n in range(4000)),
                                          encoding="utf-8")
    time.sleep(0.5)  # the debounce has passed: the pass of 4,000 articles is running
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    wait_for(lambda: "The ferry is back!" in server.titles("/tags/harbour.atom"), 30,
             "the change made during a pass was lost")
    history = server.status()["history"][-(pass_count(server) - passes):]
    changed = [row["articles_changed"] for row in history if row["articles_changed"]]
    assert changed[0] == 4000, "the big file's pass was not first"


def test_kill_9_during_a_pass_loses_nothing_and_changes_no_id(tmp_path):
    def dates(server: LiveServer) -> dict[str, str]:
        return {e.id: e.published for path in ("/tags/harbour.atom", "/tags/culture.atom")
                for e in server.feed(path).entries}

    with LiveServer(tmp_path) as server:
        (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
        (server.seeds / "library.txt").write_text(LIBRARY, encoding="utf-8")
        wait_for(lambda: len(server.titles()) == 2, 10)
        before = dates(server)
        (server.seeds / "big.txt").write_text(
            "".join(article(n, body="Some words. " * 80) for n in range(4000)), "utf-8")
        time.sleep(0.5)  # into the pass that renders 4,000 articles
        server.stop(signal.SIGKILL)
    with LiveServer(tmp_path) as again:
        wait_for(lambda: again.status().get("last_pass", {}).get("articles") == 4002, 30,
                 "not everything was published after the restart")
        assert dates(again) == before
        assert len(before) == 2
        assert assert_valid_site(again.feeds) > 0
        assert not list(again.feeds.rglob("*.tmp"))


def published_then_stopped_then_changed(root: Path) -> bytes:
    """A server publishes one article and stops; 10,000 articles are written while it
    is down, for a restart's first pass to publish. The harbour feed as it was served."""
    with LiveServer(root) as server:
        (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
        wait_for(lambda: server.titles("/tags/harbour.atom"), 10)
        served = server.body("/tags/harbour.atom")
        assert server.stop(signal.SIGTERM) == 0
    (root / "seeds" / "big.txt").write_text(
        "".join(article(n, body="Some words. " * 20) for n in range(10_000)), "utf-8")
    return served


def test_a_restart_serves_what_was_published_while_it_rebuilds(tmp_path):
    before = published_then_stopped_then_changed(tmp_path)
    with LiveServer(tmp_path) as again:
        served = again.body("/tags/harbour.atom")  # at once, while the rebuild runs
        assert again.status()["last_pass"]["articles"] == 1, "the rebuild was already done"
        assert served == before
        wait_for(lambda: again.status()["last_pass"]["articles"] == 10_001, 60,
                 "the rebuild did not finish")
        assert len(again.titles("/tags/bulk.atom")) == 50  # the newest of 10,000
        assert "serving the site as published while the first pass rebuilds" in again.log_text()


def test_sigterm_during_a_restarts_rebuild_finishes_it_and_exits_cleanly(tmp_path):
    published_then_stopped_then_changed(tmp_path)
    with LiveServer(tmp_path) as again:
        assert again.status()["last_pass"]["articles"] == 1, "the rebuild was already done"
        assert again.stop(signal.SIGTERM, timeout=60) == 0
        assert "waiting for the first publish pass to finish" in again.log_text()
        assert again.status()["last_pass"]["articles"] == 10_001
        assert not list(again.feeds.rglob("*.tmp"))
        assert assert_valid_site(again.feeds) > 0


def test_a_restart_whose_first_pass_fails_stops_instead_of_serving_stale_feeds(tmp_path):
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "index.json").write_text('{"version": 1, "files": {}}')
    (tmp_path / "blocker").write_text("a file where the state's folder should be")
    command = [*SEEDFEEDS, "serve", "--seeds", str(tmp_path / "seeds"), "--feeds",
               str(tmp_path / "feeds"), "--state", str(tmp_path / "blocker" / "state.sqlite"),
               "--port", str(free_port())]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    # A state that cannot be created is now refused at start-up, before serving anything.
    assert "--state / SEEDFEEDS_STATE" in done.stderr


def test_a_first_start_builds_before_it_serves(server):
    assert (server.feeds / "index.json").is_file()
    assert "while the first pass rebuilds" not in server.log_text()


def test_sigterm_finishes_cleanly(server):
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    wait_for(lambda: server.titles(), 10)
    assert server.stop(signal.SIGTERM) == 0
    assert "publisher stopped" in server.log_text()
