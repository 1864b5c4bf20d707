"""One bad seed file is that file's problem, never a crash, and no file can block a
command: dates out of range, names that are not UTF-8, FIFOs and sockets (issue 12)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from zoneinfo import ZoneInfo

import pytest

from service.seed.problems import SeedError
from service.seed.read import read_seed

from support.processes import ROOT, SEEDFEEDS

HEADER = "Harbour ferry resumes! Transport | Harbour"


def dump(release: str) -> str:
    return f"{HEADER}\n{HEADER}\nRelease time: {release}\n\nThe ferry crossed today.\n"


def check(*arguments: str, timeout: float = 20) -> subprocess.CompletedProcess[bytes]:
    """`seedfeeds check` as a user runs it; TimeoutExpired if it blocks."""
    return subprocess.run([*SEEDFEEDS, "check", *arguments], capture_output=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, "PYTHONUTF8": "1"})


@pytest.mark.parametrize(("release", "zone"), [
    ("9999-12-31T23:59:59-05:00", "UTC"),  # after year 9999 once in UTC
    ("0001-01-01T00:00:00+05:00", "UTC"),  # before year 1 once in UTC
    ("9999-12-31 23:30", "America/New_York"),  # a naive time, read in a zone west of UTC
])
def test_a_release_time_outside_years_1_to_9999_in_utc_is_a_warning(write, release, zone):
    seed = read_seed(write("ferry.txt", dump(release)), "ferry.txt", timezone=ZoneInfo(zone))
    (article,) = seed.articles
    assert article.published is None  # dated when first seen, like any unreadable time
    (note,) = seed.warnings
    assert (note.path, note.line) == ("ferry.txt", 3)
    assert "out of range" in note.message


def test_a_front_matter_date_outside_years_1_to_9999_in_utc_is_the_files_error(write):
    path = write("ferry.md", "---\ntitle: Harbour ferry resumes\n"
                             "date: 9999-12-31T23:59:59-05:00\n---\nThe ferry crossed today.\n")
    with pytest.raises(SeedError) as caught:
        read_seed(path, "ferry.md")
    assert (caught.value.problem.line, caught.value.problem.severity) == (3, "error")
    assert "out of range" in caught.value.problem.message


def test_check_on_a_fifo_says_so_at_once_instead_of_waiting_for_a_writer(seeds):
    fifo = seeds / "pipe.txt"
    os.mkfifo(fifo)
    result = check(str(fifo), timeout=10)
    assert result.returncode == 1
    assert f"{fifo}: error: is a FIFO, not a regular file" in result.stderr.decode()


def test_check_on_a_folder_skips_fifos_and_sockets_with_a_warning(write, seeds):
    write("ferry.txt", dump("2026-01-05 08:30"))
    os.mkfifo(seeds / "pipe.txt")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(seeds / "socket.txt"))
        result = check(str(seeds), timeout=10)
    assert result.returncode == 0, result.stderr
    stderr = result.stderr.decode()
    assert f"{seeds}/pipe.txt: warning: is a FIFO, not a regular file; skipped" in stderr
    assert f"{seeds}/socket.txt: warning: is a socket, not a regular file; skipped" in stderr
    assert HEADER.split("!")[0] in result.stdout.decode()


def test_a_file_name_that_is_not_utf8_is_shown_escaped_by_check_json(seeds):
    with open(os.path.join(os.fsencode(seeds), b"caf\xff.txt"), "wb") as seed:
        seed.write(dump("not a time").encode())
    result = check("--json", str(seeds))
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout.decode("utf-8"))  # strict: no raw byte, no surrogate
    assert row["file"] == f"{seeds}/caf\\xff.txt"
    assert f"{seeds}/caf\\xff.txt:3: warning: " in result.stderr.decode("utf-8")
