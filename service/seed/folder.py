"""Which files in the seeds folder are seed files, which may still be being written,
and listing them.

Dotfiles and the temp files of editors and downloads are never seeds: they are
half-written, or about to be renamed over a real seed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

TEMP_SUFFIXES = (".swp", ".swo", ".swx", ".tmp", ".temp", ".part", ".crdownload",
                 ".partial", ".kate-swp", ".bak", "~")
TEMP_NAMES = frozenset({"4913"})  # vim's probe file

# How a change is to be published: the file is complete (READY), may still be being
# written (SETTLE: read it once quiet for QUIET seconds), or the folder itself changed
# (RESCAN). The watcher classifies events into these; the scheduler acts on them.
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


def scan(root: Path) -> list[str]:
    """Every seed file under ``root`` as a sorted list of '/'-separated relative paths."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder).relative_to(root)
        for name in files:
            relative = (base / name).as_posix()
            if is_seed_name(relative) and os.path.isfile(os.path.join(folder, name)):
                found.append(relative)
    return sorted(found)
