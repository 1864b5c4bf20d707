"""The state is precious: what is not a SQLite file, or is locked, read-only, foreign or
newer, is refused or waited for and never touched; only what SQLite reports corrupt is
set aside, as a copy with its -wal and -shm."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.catalog.records import Seen
from service.catalog.state import SCHEMA_VERSION, State, open_state
from service.catalog.statefile import StateBusy
from service.config import StartupError, load_settings

ROOT = Path(__file__).resolve().parent.parent
WAIT = 0.5  # the busy timeout these tests give the state, in seconds

# Another process holding the state's lock, as a backup or an `sqlite3` shell does:
# it takes the lock, says so, and lets go when its stdin closes.
HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute(sys.argv[2])
print("held", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""
# A writer that dies before its -wal is checkpointed, leaving -wal and -shm behind.
CRASHING_WRITER = """
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA wal_autocheckpoint=0")
db.execute("INSERT INTO tags (key, slug) VALUES ('harbour', 'harbour')")
os._exit(0)
"""
# Opening the state as another user, to whom permissions apply (root ignores them).
OPENER = """
import sys
from pathlib import Path
from service.catalog.state import State
from service.config import StartupError
try:
    State(Path(sys.argv[1])).close()
except StartupError as exc:
    print(exc)
    sys.exit(3)
print("opened")
"""


def made_state(path: Path, articles: int = 3) -> dict[str, Seen]:
    """A real state holding ``articles`` records, written and closed by State itself."""
    seen = {f"id{n:05}": Seen(1_700_000_000.0 + n, f"{n:064x}", None) for n in range(articles)}
    state = State(path)
    state.remember_articles(seen.items())
    state.close()
    return seen


def snapshot(path: Path) -> tuple[object, ...]:
    """Everything a refusal must leave as it was: the entry, its bytes, its neighbours."""
    info = path.lstat()
    data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
    return (info.st_mode, info.st_ino, info.st_size, info.st_mtime_ns, data,
            sorted(os.listdir(path.parent)))


def assert_refused(path: Path, *words: str) -> str:
    before = snapshot(path)
    with pytest.raises(StartupError) as refused:
        State(path, WAIT)
    message = str(refused.value)
    assert "--state / SEEDFEEDS_STATE" in message and "\n" not in message
    for word in words:
        assert word in message
    assert snapshot(path) == before
    return message


@contextmanager
def holding(path: Path, begin: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``begin``'s lock on ``path`` until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), begin],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)
        assert holder.stdout is not None
        holder.stdout.close()


def test_a_text_file_as_the_state_is_refused_and_left_as_it_was(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Remember to renew the certificate.\n" * 20, encoding="utf-8")
    assert_refused(notes, "not a SQLite database")


def make_folder(path: Path) -> None:
    path.mkdir()


def make_fifo(path: Path) -> None:
    os.mkfifo(path)


def make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))


def make_device(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null of our own


@pytest.mark.parametrize(("make", "kind"), [(make_folder, "a folder"), (make_fifo, "a FIFO"),
                                            (make_socket, "a socket"),
                                            (make_device, "a character device")],
                         ids=["folder", "fifo", "socket", "device"])
def test_a_path_that_is_no_file_is_refused_untouched(tmp_path, make, kind):
    target = tmp_path / "st"
    make(target)
    assert_refused(target, kind)


@pytest.mark.parametrize("folder", ["seeds", "feeds"])
def test_a_state_inside_the_seeds_or_feeds_folder_is_refused(tmp_path, folder):
    settings = load_settings({"seeds": str(tmp_path / "seeds"), "feeds": str(tmp_path / "feeds"),
                              "state": str(tmp_path / folder / "state.sqlite")}, {})
    (tmp_path / "seeds").mkdir()
    (tmp_path / "feeds").mkdir()
    with pytest.raises(StartupError, match=f"inside the {folder} folder"):
        open_state(settings)
    assert not list((tmp_path / folder).iterdir())


def test_another_programs_sqlite_database_is_refused_untouched(tmp_path):
    other = tmp_path / "places.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE bookmarks (url TEXT)")
    sqlite3.connect(other).close()
    assert_refused(other, "another program's SQLite database")


def test_a_state_written_by_a_newer_seedfeeds_is_refused_untouched(tmp_path):
    path = tmp_path / "state.sqlite"
    made_state(path)
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION + 1),))
    db.close()
    assert_refused(path, "newer seedfeeds")


@pytest.fixture
def as_nobody() -> Iterator[Path]:
    """A folder nobody owns, outside pytest's root-only temp folders, for a child run as
    nobody: permissions bind it as they would bind a service account."""
    if os.geteuid() != 0:
        pytest.skip("runs the child as nobody, which needs root")
    nobody = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="seedfeeds-state-"))
    os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def open_as_nobody(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           sys.executable, "-c", OPENER, str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "PYTHONDONTWRITEBYTECODE": "1"})


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_state_is_refused_at_start_up_untouched(as_nobody, what):
    path = as_nobody / "state.sqlite"
    made_state(path)
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    (path if what == "file" else as_nobody).chmod(0o444 if what == "file" else 0o555)
    before = snapshot(path)
    opened = open_as_nobody(path)
    assert (opened.returncode, opened.stderr) == (3, ""), opened
    assert "--state / SEEDFEEDS_STATE" in opened.stdout and "read-only" in opened.stdout
    assert snapshot(path) == before


def test_a_state_another_process_is_writing_opens_without_waiting(tmp_path):
    path = tmp_path / "state.sqlite"
    seen = made_state(path)
    with holding(path, "BEGIN IMMEDIATE"):
        started = time.monotonic()
        state = State(path, busy_timeout=5.0)
        took = time.monotonic() - started
        loaded = dict(state.seen(None))
        state.close()
    assert loaded == seen
    assert took < 2.0
    assert sorted(os.listdir(tmp_path)) == ["state.sqlite"]


def test_a_state_locked_at_start_up_is_waited_for_then_refused_untouched(tmp_path):
    path = tmp_path / "state.sqlite"
    seen = made_state(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=DELETE")  # as a copy restored by a backup tool may be
    db.close()
    with holding(path, "BEGIN EXCLUSIVE"):
        started = time.monotonic()
        assert_refused(path, "locked by another process")
        assert time.monotonic() - started >= WAIT
    state = State(path)
    assert dict(state.seen(None)) == seen
    state.close()


def test_a_write_to_a_locked_state_waits_then_fails_changing_nothing(tmp_path):
    path = tmp_path / "state.sqlite"
    seen = made_state(path)
    state = State(path, busy_timeout=WAIT)
    with holding(path, "BEGIN IMMEDIATE"):
        started = time.monotonic()
        with pytest.raises(StateBusy, match="locked by another process"):
            state.remember_articles([("new", Seen(1_800_000_000.0, "f" * 64, None))])
        assert time.monotonic() - started >= WAIT
        assert dict(state.seen(None)) == seen  # memory claims nothing the database lacks
    state.close()
    again = State(path)
    assert dict(again.seen(None)) == seen
    again.close()
    assert not [name for name in os.listdir(tmp_path) if "corrupt" in name]


def test_a_corrupt_state_is_copied_aside_with_its_wal_and_a_fresh_one_started(tmp_path,
                                                                               caplog):
    path = tmp_path / "state.sqlite"
    made_state(path, articles=3000)
    subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(path)], check=True)
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    assert wal.stat().st_size and shm.exists()
    with path.open("r+b") as file:  # damage pages of the articles table
        file.seek(30 * 4096)
        file.write(b"\xde\xad\xbe\xef" * 3 * 1024)
    damaged, damaged_wal = path.read_bytes(), wal.read_bytes()
    with caplog.at_level(logging.WARNING):
        state = State(path)
    assert dict(state.seen(None)) == {} and state.slugs == {}
    assert len(state.warnings) == 1 and "corrupt" in state.warnings[0]
    assert state.warnings[0] in caplog.text
    state.remember_articles([("new", Seen(1_800_000_000.0, "f" * 64, None))])
    state.close()
    [aside] = tmp_path.glob("state.sqlite.corrupt-*[0-9Z]")
    assert aside.read_bytes() == damaged
    assert Path(f"{aside}-wal").read_bytes() == damaged_wal
    assert Path(f"{aside}-shm").exists()
    reopened = State(path)
    assert list(dict(reopened.seen(None))) == ["new"] and not reopened.warnings
    reopened.close()
