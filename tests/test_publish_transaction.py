"""A pass is a transaction over its outputs: a pass that fails leaves the site as it was,
says so on status.json, and is redone on its own, whole, until it succeeds."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import load_settings
from service.publish.publisher import Publisher
from service.publish.status import PassFailed

from support.liveserver import LiveServer
from support.processes import SEEDFEEDS
from support.waiting import wait_for

FERRY = ("The ferry is back! Transport | Harbour\n"
         "Release time:2026-01-05 08:30\n\nThe first electric ferry crossed today.\n")
MARKET = ("The fish market opens at dawn. Harbour | Food\n"
          "Release time:2026-01-06 05:00\n\nStalls open at five.\n")


def _mount(*arguments: str) -> None:
    subprocess.run(["mount", *arguments], check=True, capture_output=True)


@contextlib.contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A real, small file system at ``folder``: a disk that fills, that goes read-only."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {exc}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` read-only for everyone, root included (a read-only bind mount)."""
    try:
        _mount("--bind", str(folder), str(folder))
        _mount("-o", "remount,bind,ro", str(folder))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot bind-mount read-only here (needs root): {exc}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False, capture_output=True)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to the last byte."""
    filler = folder / ".filler"
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as stream:
        for chunk in (65536, 1):
            with contextlib.suppress(OSError):
                while True:
                    stream.write(b"\0" * chunk)
    return filler


def linked_pages_answer(server: LiveServer) -> bool:
    """Every article the all feed links to has its page: no reader follows a link to 404."""
    for entry in server.feed("/all.atom").entries:
        if server.get("/articles/" + entry.link.rsplit("/", 1)[1]).status != 200:
            return False
    return True


def fails_then_heals(server: LiveServer, folder: Path, what: str) -> None:
    """With ``folder`` full, a new file's pass fails and the site stays as it was; once
    there is room, the failed pass is redone and the site is whole."""
    filler = fill(folder)
    (server.seeds / "market.txt").write_text(MARKET, encoding="utf-8")
    wait_for(lambda: "publish pass failed" in server.log.read_text(), 10,
             f"the pass on a full {what} did not fail")
    assert server.titles() == ["The ferry is back!"]  # the site as it was
    filler.unlink()
    wait_for(lambda: "The fish market opens at dawn." in server.titles(), 10,
             "the failed pass was not redone once there was room")
    assert linked_pages_answer(server)
    assert server.status()["failing"] is None


def test_a_pass_that_failed_on_a_full_disk_is_redone_once_there_is_room(tmp_path: Path):
    server = LiveServer(tmp_path, "--debounce", "0.05")
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    with tmpfs(server.feeds, "2m"), server:
        fails_then_heals(server, server.feeds, "disk")


def test_a_pass_that_failed_on_a_full_state_folder_is_redone_once_there_is_room(
        tmp_path: Path):
    """The articles' text is written beside the state as files are read: a full disk
    there fails the pass like a full feeds folder, and nothing is lost."""
    state = tmp_path / "state"
    with tmpfs(state, "4m"):
        server = LiveServer(tmp_path / "site", "--debounce", "0.05",
                            "--state", str(state / "state.sqlite"))
        (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
        with server:
            fails_then_heals(server, state, "state folder")


def test_a_state_folder_that_fills_as_files_are_read_fails_the_pass_not_the_files(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The texts of the files read go to the state's folder: when it fills, the pass
    fails with the disk's error, and no file is taken for one the reader cannot read
    (their last good articles would stand in, and the pass would seem to succeed).
    Enough files that a build parses half of them in a forked child too."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    body = "A paragraph of harbour news, long enough to weigh. " * 40
    for number in range(80):
        (seeds / f"news_{number:03d}.txt").write_text("".join(
            f"Story {number}.{n} of the day. Harbour | News\n\n{body}\n\n" for n in range(20)),
            encoding="utf-8")
    with tmpfs(tmp_path / "state", "1m") as state:
        settings = load_settings({"seeds": str(seeds), "feeds": str(tmp_path / "feeds"),
                                  "state": str(state / "state.sqlite")}, {})
        publisher = Publisher(settings)
        try:
            with pytest.raises(PassFailed, match="No space left on device"):
                publisher.publish(None)
        finally:
            publisher.close()
    assert not [r.getMessage() for r in caplog.records if "unexpected failure" in r.getMessage()]


def test_a_failing_pass_is_on_status_with_its_error_and_since_when(tmp_path: Path):
    server = LiveServer(tmp_path, "--debounce", "0.05")
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    with server:
        with read_only(server.feeds / "articles"):  # status.json beside it stays writable
            (server.seeds / "market.txt").write_text(MARKET, encoding="utf-8")
            failing = wait_for(lambda: server.status().get("failing"), 10,
                               "status.json does not say that passes fail")
            assert "Read-only file system" in failing["error"]
            assert failing["attempts"] >= 1 and failing["since"] <= failing["next_retry"]
            assert server.status()["last_pass"]["articles"] == 1  # the site as published
        wait_for(lambda: "The fish market opens at dawn." in server.titles(), 10,
                 "the failed pass was not redone once the folder was writable")
        assert linked_pages_answer(server)
        assert server.status()["failing"] is None


def test_a_deleted_feeds_folder_is_rebuilt_by_the_next_rescan(tmp_path: Path):
    server = LiveServer(tmp_path, "--reconcile", "1")
    (server.seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    (server.seeds / "market.txt").write_text(MARKET, encoding="utf-8")
    with server:
        before = sorted(p.relative_to(server.feeds) for p in server.feeds.rglob("*")
                        if p.name != "status.json")
        shutil.rmtree(server.feeds)
        wait_for(lambda: (server.feeds / "index.json").is_file()
                 and sorted(p.relative_to(server.feeds) for p in server.feeds.rglob("*")
                            if p.name != "status.json") == before, 10,
                 "the deleted site was not rebuilt")
        assert linked_pages_answer(server)


@pytest.fixture
def publisher(tmp_path: Path) -> Iterator[Publisher]:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    settings = load_settings({"seeds": str(seeds), "feeds": str(tmp_path / "feeds"),
                              "state": str(tmp_path / "state.sqlite")}, {})
    publisher = Publisher(settings)
    publisher.publish(None)
    yield publisher
    publisher.close()


def break_articles_folder(feeds: Path) -> Path:
    """The article pages' folder replaced by a file: every new page fails to be written."""
    aside = feeds.with_name("articles-aside")
    (feeds / "articles").rename(aside)
    (feeds / "articles").write_text("not a folder", encoding="utf-8")
    return aside


def test_a_failed_pass_is_retried_sooner_first_then_at_most_every_minute(publisher):
    feeds = publisher.settings.feeds
    break_articles_folder(feeds)
    (publisher.settings.seeds / "market.txt").write_text(MARKET, encoding="utf-8")
    delays = []
    for _ in range(8):
        with pytest.raises(PassFailed):
            publisher.publish(None)
        delays.append(publisher.retry_in())
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_pass_that_failed_records_nothing_as_done(publisher):
    feeds = publisher.settings.feeds
    aside = break_articles_folder(feeds)
    (publisher.settings.seeds / "market.txt").write_text(MARKET, encoding="utf-8")
    with pytest.raises(PassFailed):
        publisher.publish({"market.txt"})
    (feeds / "articles").unlink()
    aside.rename(feeds / "articles")
    report = publisher.publish(set())  # no file changed since: the failed work is redone
    assert report.articles == 2 and publisher.retry_in() is None
    status = json.loads((feeds / "status.json").read_bytes())
    assert status["failing"] is None and status["last_pass"]["articles"] == 2
    assert len(list((feeds / "articles").iterdir())) == 2


def test_a_build_that_fails_exits_1_and_leaves_the_site_as_it_was(tmp_path: Path):
    seeds, feeds = tmp_path / "seeds", tmp_path / "feeds"
    seeds.mkdir()
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    command = [*SEEDFEEDS, "build", "--seeds", str(seeds), "--feeds", str(feeds),
               "--state", str(tmp_path / "state.sqlite")]
    subprocess.run(command, check=True, capture_output=True)
    manifest = (feeds / "index.json").read_bytes()
    break_articles_folder(feeds)
    (seeds / "market.txt").write_text(MARKET, encoding="utf-8")
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1
    assert "publish pass failed" in result.stderr and "Traceback" not in result.stderr
    assert (feeds / "index.json").read_bytes() == manifest


def test_a_file_left_for_later_whose_name_is_not_utf8_is_shown_escaped(tmp_path: Path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    os.utime(seeds / "ferry.txt", (1e9, 1e9))  # long quiet
    settings = load_settings({"seeds": str(seeds), "feeds": str(tmp_path / "feeds"),
                              "state": str(tmp_path / "state.sqlite")}, {})
    publisher = Publisher(settings, settle=30)  # a rescan leaves files younger than 30 s
    try:
        publisher.publish(None)
        young = os.path.join(os.fsencode(seeds), b"market-\xff.txt")
        with open(young, "wb") as stream:
            stream.write(MARKET.encode())
        report = publisher.publish(None)
    finally:
        publisher.close()
    assert report.unsettled == (os.fsdecode(b"market-\xff.txt"),)  # the real name, to recheck
    status = json.loads((settings.feeds / "status.json").read_bytes())
    assert status["last_pass"]["unsettled"] == ["market-\\xff.txt"]


def test_a_file_that_breaks_while_passes_fail_keeps_its_last_good_articles(publisher):
    feeds, seeds = publisher.settings.feeds, publisher.settings.seeds
    aside = break_articles_folder(feeds)
    (seeds / "market.txt").write_text(MARKET, encoding="utf-8")
    with pytest.raises(PassFailed):
        publisher.publish({"market.txt"})
    (seeds / "ferry.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(200))
    (feeds / "articles").unlink()
    aside.rename(feeds / "articles")
    report = publisher.publish({"ferry.txt"})
    assert report.articles == 2 and report.errors == 1  # ferry's last good, and market
    atom = (feeds / "all.atom").read_text(encoding="utf-8")
    assert "The ferry is back!" in atom and "The fish market opens at dawn." in atom


def test_a_file_still_being_written_when_a_failed_pass_is_redone_keeps_its_articles(
        tmp_path: Path):
    seeds, feeds = tmp_path / "seeds", tmp_path / "feeds"
    seeds.mkdir()
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    os.utime(seeds / "ferry.txt", (1e9, 1e9))
    settings = load_settings({"seeds": str(seeds), "feeds": str(feeds),
                              "state": str(tmp_path / "state.sqlite")}, {})
    publisher = Publisher(settings, settle=0.3)  # the redone pass waits 1.5 s at most
    writing = threading.Event()

    def keep_writing() -> None:  # a writer that appends now and then, as a slow copy does
        while not writing.wait(0.05):
            os.utime(seeds / "ferry.txt")

    try:
        publisher.publish(None)
        aside = break_articles_folder(feeds)
        (seeds / "market.txt").write_text(MARKET, encoding="utf-8")
        os.utime(seeds / "market.txt", (1e9, 1e9))
        with pytest.raises(PassFailed):
            publisher.publish({"market.txt"})
        (feeds / "articles").unlink()
        aside.rename(feeds / "articles")
        os.utime(seeds / "ferry.txt")
        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            report = publisher.publish(None)
        finally:
            writing.set()
            writer.join()
    finally:
        publisher.close()
    assert report.unsettled == ("ferry.txt",)  # left for later: it is still changing
    assert report.articles == 2  # its articles hold meanwhile
    assert "The ferry is back!" in (feeds / "all.atom").read_text(encoding="utf-8")
    assert len(list((feeds / "articles").iterdir())) == 2
