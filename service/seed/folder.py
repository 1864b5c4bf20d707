"""Which files in the seeds folder are seed files, which may still be being written,
and listing them.

Dotfiles and the temp files of editors and downloads are never seeds: they are
half-written, or about to be renamed over a real seed. Only regular files are read:
a FIFO, socket or device is skipped (a FIFO would block whoever opened it). A link
that resolves outside the seeds folder is never followed (it could publish any file
the publisher may read); a link to a seed file inside is read once, where it points,
and a link to a folder inside is not followed (its files are read where they are).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from service.config import BY_NAME, StartupError
from service.seed.problems import Problem, warning

TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".tmp", ".temp", ".part", ".crdownload",
                 ".partial", ".kate-swp", ".bak", "~")
TEMP_NAMES = frozenset({"4913"})  # vim's probe file

# How a change is to be published: the file is complete (READY: at once), the change
# may not be complete (SETTLE: a file still being written, read once quiet for QUIET
# seconds; a file deleted that an editor's save may write anew: after the debounce), or
# the folder itself changed (RESCAN). The watcher classifies events into these; the
# scheduler acts on them.
READY, SETTLE, RESCAN = "ready", "settle", "rescan"
QUIET = 1.0  # seconds a created or modified file must go unchanged before it is read


def is_seed_name(relative: str | PurePath) -> bool:
    """True for a path (relative to the seeds folder) that may hold a seed."""
    parts = PurePath(relative).parts
    if not parts:
        return False
    name = parts[-1]
    if any(part.startswith(".") for part in parts):
        return False
    if name in TEMP_NAMES or name.lower().endswith(TEMP_SUFFIXES):
        return False
    return not (name.startswith("#") and name.endswith("#"))


def settling_for(mtime: float, now: float, settle: float) -> float:
    """Seconds until a file last modified at ``mtime`` has been quiet for ``settle``
    seconds (0: it has, and may be read). A modification time in the future, from a
    clock ahead of ours, is no sign of a writer: waiting for it could take hours."""
    quiet = now - mtime
    return settle - quiet if 0 <= quiet < settle else 0.0


@dataclass
class Listing:
    """What a walk of a seeds folder found."""

    files: list[str] = field(default_factory=list)  # seed files: sorted, '/'-separated
    folders: set[str] = field(default_factory=set)  # folders listed in full ('' the root)
    unreadable: list[str] = field(default_factory=list)  # folders there but not listed
    problems: list[Problem] = field(default_factory=list)


def walk(root: Path, prefix: str = "") -> Listing:
    """Every seed file under ``root``, and what could not be listed or is not read, as
    problems named ``prefix`` + the relative path. A folder that cannot be listed is an
    error, never a silent skip. OSError if ``root`` itself cannot be listed. One
    directory read per folder; a stat only for links and for file systems that do not
    say what an entry is."""
    found, real_root = Listing(), os.path.realpath(root)
    links: dict[str, str] = {}  # a link to a file inside -> that file, relative
    pending = [""]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                entries = list(listing)
        except OSError as exc:
            if not folder:
                raise
            if exc.errno != errno.ENAMETOOLONG:  # a path that long was never readable
                found.unreadable.append(folder)
            found.problems.append(Problem(prefix + folder, None, cannot_read(exc)))
            continue
        found.folders.add(folder)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = f"{folder}/{entry.name}" if folder else entry.name
            try:
                if entry.is_symlink():
                    _link(entry.path, relative, real_root, links, found, prefix)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(relative)
                elif is_seed_name(relative):
                    if entry.is_file(follow_symlinks=False):
                        found.files.append(relative)
                    else:
                        found.problems.append(warning(prefix + relative, None, not_a_file(
                            entry.stat(follow_symlinks=False).st_mode) + "; skipped"))
            except OSError as exc:
                found.problems.append(Problem(prefix + relative, None, cannot_read(exc)))
    seeds = set(found.files)
    found.files.extend(link for link, target in links.items() if target not in seeds)
    found.files.sort()
    return found


def _link(path: str, relative: str, real_root: str, links: dict[str, str],
          found: Listing, prefix: str) -> None:
    """Sort one symbolic link: out of bounds, a seed file inside, or nothing to read."""
    target = inside(path, real_root)
    if target is None:
        if is_seed_name(relative):
            found.problems.append(Problem(prefix + relative, None, OUTSIDE))
    elif is_seed_name(relative) and os.path.isfile(path):
        links[relative] = target  # not read twice if the file it names is a seed too
    elif not os.path.exists(path) and is_seed_name(relative):
        found.problems.append(warning(prefix + relative, None, "is a broken link; skipped"))


OUTSIDE = "links outside the seeds folder; not read"


def inside(path: str, real_root: str) -> str | None:
    """Where a link at ``path`` resolves, relative to the real seeds folder; None if
    that is outside it."""
    target = os.path.realpath(path)
    if target != real_root and not target.startswith(real_root.rstrip(os.sep) + os.sep):
        return None
    return PurePath(os.path.relpath(target, real_root)).as_posix()


def not_a_file(mode: int) -> str:
    """What a file that is not a regular one is, as an error says it."""
    for test, kind in ((stat.S_ISDIR, "is a folder"), (stat.S_ISFIFO, "is a FIFO"),
                       (stat.S_ISSOCK, "is a socket"), (stat.S_ISCHR, "is a character device"),
                       (stat.S_ISBLK, "is a block device")):
        if test(mode):
            return f"{kind}, not a regular file"
    return "is not a regular file"


def cannot_read(exc: OSError) -> str:
    """Why a file or folder cannot be read, as an error says it."""
    if exc.errno == errno.ENAMETOOLONG:
        return "path too long to open"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot be read: permission denied"
    return f"cannot be read: {(exc.strerror or str(exc)).lower()}"


def folder_problem(root: Path) -> str | None:
    """Why ``root`` cannot be used as the seeds folder (missing, not a folder, not
    readable), or None if it can."""
    try:
        info = os.stat(root)
    except FileNotFoundError:
        return "does not exist"
    except OSError as exc:
        return cannot_read(exc)
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if not os.access(root, os.R_OK | os.X_OK):
        return "cannot be read: permission denied"
    return None


def require_folder(root: Path) -> None:
    """Refuse to start on a seeds folder that is missing, not a folder or unreadable:
    building from it would unpublish every article."""
    problem = folder_problem(root)
    if problem is not None:
        setting = BY_NAME["seeds"]
        raise StartupError(f"{setting.flag} / {setting.env}: the seeds folder {root} "
                           f"{problem}; check the path (a typo? a share not mounted?)")
