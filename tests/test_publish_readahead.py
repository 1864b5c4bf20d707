"""A build's first pass parses the later half of its seed files in a forked child: the
pass reads exactly what one process parsing every file reads, bad files and all; a
file changed since the child looked at it, and every file of a child that died, are
parsed by the publisher itself; a FIFO among the seeds is never opened."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from service.catalog.texts import Texts
from service.config import Settings, load_settings
from service.publish import readahead
from service.publish.publisher import Publisher

from support.sitecheck import snapshot

CLOCK = 1_767_225_600.0  # 2026-01-01, the undated articles' first sighting
FILES = 80  # more than READ_AHEAD_MIN, so a build reads ahead
BAD = {"binary.txt": b"\x00\x01\x02\xff" * 64,
       "latin1.txt": "Caf\xe9 reopens. Food | Town\n\nThe caf\xe9 is open.\n".encode("latin-1"),
       "empty.txt": b"",
       "controls.txt": b"A \x07bell in the headline. Noise | Town\n\nText\x1b[31m here.\n"}


def article(number: int) -> str:
    return (f"Story {number} of the harbour. Harbour | News | Tag {number % 7}\n"
            f"Release time: 2025-12-{1 + number % 28:02d} 08:30\n\n"
            f"Body of story {number}, which has enough words to be one.\n\n")


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """FILES seed files of a few articles each, and the bad ones, several of them in
    the later half of the sorted names (the child's)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for file in range(FILES):
        text = "".join(article(file * 5 + n) for n in range(5))
        (folder / f"news_{file:03d}.txt").write_text(text, encoding="utf-8")
    for name, data in BAD.items():
        (folder / f"news_{FILES - 10:03d}_{name}").write_bytes(data)
        (folder / f"a_{name}").write_bytes(data)
    return folder


def settings_for(root: Path, seeds: Path) -> Settings:
    return load_settings({"seeds": str(seeds), "feeds": str(root / "feeds"),
                          "state": str(root / "state.sqlite"), "entries": "10",
                          "archive_size": "5", "base_url": "https://news.example.org"}, {})


def build(root: Path, seeds: Path) -> tuple[dict[str, bytes], list[str]]:
    """The site a first pass publishes, and the problems it reports."""
    publisher = Publisher(settings_for(root, seeds), clock=lambda: CLOCK)
    try:
        publisher.publish()
        errors, warnings = publisher.problems()
    finally:
        publisher.close()
    site = {path: data for path, (_, data) in snapshot(root / "feeds").items()
            if not path.startswith(".")}
    return site, [str(problem) for problem in errors + warnings]


def test_a_first_pass_read_on_two_cores_reads_what_one_process_reads(
        tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ahead_site, ahead_problems = build(tmp_path / "ahead", seeds)
    monkeypatch.setattr(readahead, "READ_AHEAD_MIN", 10**9)
    here_site, here_problems = build(tmp_path / "here", seeds)
    assert ahead_problems == here_problems
    assert [name for name in BAD if any(name in p for p in here_problems)], here_problems
    assert ahead_site.keys() == here_site.keys()
    assert [path for path in here_site if ahead_site[path] != here_site[path]] == []
    # the café's and the bell's articles too, each once (both files are there twice)
    assert len([path for path in here_site if path.startswith("articles/")]) == FILES * 5 + 2


def reader_of(tmp_path: Path, seeds: Path) -> tuple[readahead.ReadAhead, Texts, list[str]]:
    paths = sorted(path.name for path in seeds.iterdir())
    texts = Texts(tmp_path / "texts")
    return readahead.ReadAhead(settings_for(tmp_path, seeds), paths, texts), texts, paths


def found(seeds: Path, name: str) -> tuple[int, int]:
    info = os.stat(seeds / name)
    return info.st_mtime_ns, info.st_size


def test_what_the_child_parsed_is_taken_with_its_texts(tmp_path: Path, seeds: Path) -> None:
    ahead, texts, paths = reader_of(tmp_path, seeds)
    with ahead:
        outcome = ahead.take("news_042.txt", found(seeds, "news_042.txt"))
    assert outcome is not None and outcome[0] == "seed"
    titles = [texts.text(brief).title for brief in outcome[2]]
    assert titles == [f"Story {42 * 5 + n} of the harbour." for n in range(5)]
    assert len(paths) == FILES + 2 * len(BAD)
    assert ahead.take("news_043.txt", found(seeds, "news_043.txt")) is None  # once closed


def test_a_file_changed_after_the_child_looked_is_parsed_here(
        tmp_path: Path, seeds: Path) -> None:
    ahead, _, _ = reader_of(tmp_path, seeds)
    with ahead:
        # The first take waits for all the child's results: it has looked at every file.
        assert ahead.take("news_051.txt", found(seeds, "news_051.txt")) is not None
        (seeds / "news_050.txt").write_text(article(9999), encoding="utf-8")
        assert ahead.take("news_050.txt", found(seeds, "news_050.txt")) is None


def test_every_file_of_a_child_that_died_is_parsed_here(tmp_path: Path, seeds: Path) -> None:
    # Its last file keeps it parsing for a while: it is killed before it could send.
    big = "".join(article(n) for n in range(50_000))
    (seeds / "news_999_big.txt").write_text(big, encoding="utf-8")
    ahead, _, paths = reader_of(tmp_path, seeds)
    with ahead:
        os.kill(ahead._pid, signal.SIGKILL)
        assert [ahead.take(name, found(seeds, name)) for name in paths] == [None] * len(paths)


def test_a_fifo_among_the_seeds_is_never_opened(tmp_path: Path, seeds: Path) -> None:
    """Opening a FIFO waits for a writer that never comes: the build would hang."""
    os.mkfifo(seeds / "news_079_pipe.txt")
    command = [sys.executable, "-m", "service", "build", "--seeds", str(seeds),
               "--feeds", str(tmp_path / "feeds"), "--state", str(tmp_path / "state.sqlite")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 1, done.stderr[-2000:]  # the bad files are errors
    assert (tmp_path / "feeds" / "all.atom").is_file()
    shutil.rmtree(tmp_path / "feeds")


def test_a_brief_crosses_the_pipe_whole() -> None:
    import hashlib
    import pickle
    from datetime import UTC, datetime

    from service.model import Brief

    brief = Brief("0000-id", ("Harbour", "News"), datetime(2026, 1, 2, tzinfo=UTC), "a.txt",
                  70_000, hashlib.sha256(b"x").digest(), "markdown", "https://e.org/x",
                  "Ann", 123 << 32 | 456)
    copy = pickle.loads(pickle.dumps(brief, protocol=pickle.HIGHEST_PROTOCOL))
    fields = ("id", "tags", "published", "source", "line", "digest", "markup", "link",
              "author", "body")
    assert [getattr(copy, name) for name in fields] == [getattr(brief, name) for name in fields]
