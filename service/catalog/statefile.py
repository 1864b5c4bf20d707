"""The state's file on disk, beside SQLite: which paths may hold a state, what SQLite's
errors mean to the operator and to a pass, and copying a corrupt state aside.

A ``--state`` that names the wrong thing (a folder, ``/dev/null``, a FIFO, a text file,
a read-only file, a file in the seeds or feeds folder) is refused before SQLite opens
it, so it is left exactly as it was. A corrupt state is copied, never moved: the
original and its ``-wal`` and ``-shm`` stay until every copy is on disk.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Mapping
from pathlib import Path

from service.config import BY_NAME, Settings, StartupError

HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database
SIBLINGS = ("-wal", "-shm")  # SQLite's own files beside a database in WAL mode
_SETTING = BY_NAME["state"]
# SQLite's primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``).
_BUSY, _LOCKED, _READONLY, _CORRUPT, _NOTADB = 5, 6, 8, 11, 26
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


class StateError(Exception):
    """The state could not be read or written just now: the pass fails and is retried
    later; nothing in memory claims what the database does not hold."""


class StateBusy(StateError):
    """Another process held the state locked for longer than the busy timeout."""


class StateReadOnly(StateError):
    """The state became read-only after start-up (a remount, a changed owner)."""


def _code(exc: Exception) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def is_busy(exc: Exception) -> bool:
    """Whether another process held a lock for longer than the busy timeout."""
    return _code(exc) in (_BUSY, _LOCKED)


def is_corruption(exc: Exception) -> bool:
    """Whether SQLite says the file's pages are damaged (not locked, not read-only)."""
    return _code(exc) in (_CORRUPT, _NOTADB)


def startup_error(path: Path, exc: Exception, timeout: float) -> StartupError:
    """Why SQLite cannot use the state at start-up: locked, read-only, unopenable."""
    if is_busy(exc):
        return refusal(path, "is locked by another process (a backup, an sqlite3 shell?) "
                       f"and stayed locked for {timeout:g} s", "let it finish, then start "
                       "again")
    if _code(exc) == _READONLY:
        return refusal(path, "is read-only", "give this user write access to it")
    return refusal(path, f"cannot be opened ({exc})",
                   "check its permissions and the disk it is on")


def pass_error(path: Path, exc: Exception, timeout: float, doing: str) -> StateError:
    """Why an operation after start-up failed, as the error its pass fails with."""
    if is_busy(exc):
        return StateBusy(f"state {path} stayed locked by another process for {timeout:g} s: "
                         f"could not {doing}")
    if _code(exc) == _READONLY:
        return StateReadOnly(f"state {path} is read-only: could not {doing}")
    return StateError(f"state {path}: could not {doing} ({exc})")


def refusal(path: Path, problem: str, remedy: str) -> StartupError:
    """A one-line start-up error naming the setting, what is wrong and what to do."""
    return StartupError(f"{_SETTING.flag} / {_SETTING.env}: the state {path} {problem}; "
                        f"{remedy}")


def check_state(settings: Settings) -> None:
    """Refuse (StartupError), touching nothing, a ``--state`` that cannot hold a state:
    in the seeds or feeds folder, or not a writable SQLite file. Called before anything
    is created beside the state (its lock file), so a refused path gains no neighbour."""
    check_outside(settings.state, {"seeds": settings.seeds, "feeds": settings.feeds})
    check_kind(settings.state)


def check_kind(path: Path) -> None:
    """Refuse a path that is not, or cannot become, a writable SQLite file."""
    try:
        info = path.stat()
    except FileNotFoundError:
        _check_new(path)
        return
    except OSError as exc:
        raise refusal(path, f"cannot be looked at ({exc.strerror})",
                      "name a file this user can reach") from None
    for is_kind, kind in _KINDS:
        if is_kind(info.st_mode):
            raise refusal(path, f"is {kind}, not a SQLite file",
                          "name a file, such as .seedfeeds/state.sqlite")
    if info.st_size:
        try:
            with path.open("rb") as file:
                start = file.read(len(HEADER))
        except OSError as exc:
            raise refusal(path, f"cannot be read ({exc.strerror})",
                          "give this user read and write access to it") from None
        if start != HEADER:
            raise refusal(path, f"is not a SQLite database (it starts with {start[:8]!r})",
                          "name another file, or move this one away if it is not needed")
    if not os.access(path, os.W_OK):
        raise refusal(path, "is read-only", "give this user write access to it")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise refusal(path, f"is in a read-only folder ({path.parent}: SQLite writes its "
                      "-wal and -shm files beside it)", "give this user write access to it")


def _check_new(path: Path) -> None:
    """A state that does not exist yet: its nearest existing folder must be writable."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise refusal(path, f"cannot be created ({folder} is not a folder)",
                      "name a file in a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise refusal(path, f"cannot be created ({folder} is read-only)",
                      "give this user write access to it, or name another file")


def check_outside(path: Path, folders: Mapping[str, Path]) -> None:
    """Refuse a state in (or at) one of ``folders``, by setting name: seeds would read it
    as a seed file, and feeds would publish it (or a rebuild would delete it)."""
    real = path.resolve()
    for name, folder in folders.items():
        inside = folder.resolve()
        if real == inside or inside in real.parents:
            setting = BY_NAME[name]
            raise refusal(path, f"is inside the {name} folder {folder} ({setting.flag} / "
                          f"{setting.env})", "keep the state outside the seeds and feeds "
                          "folders, for example .seedfeeds/state.sqlite")


def copy_aside(path: Path) -> Path:
    """Copy ``path`` and its -wal and -shm to ``<name>.corrupt-<UTC time>`` (-wal, -shm),
    each copy written, synced and renamed into place; the originals are not changed.
    Refuses (nothing of the original removed) if a copy cannot be made."""
    aside = _aside_name(path)
    done: list[Path] = []
    try:
        for suffix in ("", *SIBLINGS):
            source = Path(f"{path}{suffix}")
            if suffix and not source.exists():
                continue
            target = Path(f"{aside}{suffix}")
            _copy_durably(source, target)
            done.append(target)
        _sync_folder(path.parent)
    except OSError as exc:
        for target in done:
            target.unlink(missing_ok=True)
        raise refusal(path, f"is corrupt and could not be copied aside to {aside.name} "
                      f"({exc.strerror or exc})", "free some space, or move it away "
                      "yourself, then start again") from None
    return aside


def set_aside(path: Path, damage: str) -> str:
    """Copy the corrupt state aside, then leave an empty file to start afresh in; what
    was done, for the log and the status."""
    aside = copy_aside(path)
    start_afresh(path)
    return (f"state database {path} is corrupt ({damage}); copied it, with its -wal and "
            f"-shm if any, to {aside.name} and started afresh: undated articles will be "
            "dated now")


def start_afresh(path: Path) -> None:
    """Leave an empty file at ``path``, where SQLite starts a new database, once its copy
    is safe: the -wal and -shm go first, as a stale -wal would be replayed into it."""
    for suffix in SIBLINGS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    fresh = path.with_name(f"{path.name}.fresh")
    fresh.write_bytes(b"")
    os.replace(fresh, path)
    _sync_folder(path.parent)


def _aside_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while any(Path(f"{aside}{suffix}").exists() for suffix in ("", *SIBLINGS)):
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    return aside


def _copy_durably(source: Path, target: Path) -> None:
    partial = target.with_name(f"{target.name}.partial")
    try:
        with source.open("rb") as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
