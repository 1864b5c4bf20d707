"""What a pass cannot see of the seeds folder, and why that unpublishes nothing.

The folder's own problems (missing, unreadable, emptied), the folders a listing could
not read, and the rule of the first pass of a process, which knows no file's last
articles: if the published site holds articles that are in no file it could read
while part of the folder cannot be read, it fails (``SeedsUnavailable``) and is
retried, rather than unpublish them. The ``Sources`` of a pass use these.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePath

from service import layout
from service.config import Settings
from service.model import Brief
from service.seed.folder import Listing
from service.seed.problems import Problem, shown

log = logging.getLogger(__name__)

Reads = Mapping[str, Sequence[Brief] | None]  # path -> its articles (None: gone)
KEPT = "the articles published from it stay published until it can be read again"


class SeedsUnavailable(Exception):
    """The seeds folder, or part of it, cannot be seen, and this pass does not know
    which published articles it holds: publishing now would unpublish them."""


def published(feeds: Path) -> Iterator[str]:
    """The ids of the articles the published site has a page for."""
    prefix, suffix = layout.article_file("\0").split("\0")
    try:
        with os.scandir(feeds / PurePath(prefix)) as entries:
            for entry in entries:
                if entry.name.endswith(suffix):
                    yield entry.name[:-len(suffix)]
    except OSError:
        return


def has_no_entries(root: Path) -> bool:
    """Nothing in ``root`` but dotfiles: what an unmounted share's mount point shows.
    Reads one block of the folder at most."""
    try:
        with os.scandir(root) as entries:
            return not any(not entry.name.startswith(".") for entry in entries)
    except OSError:
        return True  # gone since it was looked at: no file of it is deleted


def emptied(listing: Listing | None, paths: set[str] | None, knew_files: bool,
            first_pass: bool, settings: Settings) -> bool:
    """The folder has no seed file where it held some (in this process, or on the
    published site): an unmounted share's mount point, no reason to unpublish all. A
    rescan tells from its ``listing``; an incremental pass only if files went."""
    if listing is not None:
        if listing.files or listing.unreadable:
            return False
        return knew_files or (first_pass and any(published(settings.feeds)))
    return bool(paths and knew_files) and has_no_entries(settings.seeds)


def unlisted(path: str, folders: set[str]) -> str | None:
    """The outermost folder of ``path`` that is not among the listed ``folders``."""
    parts = PurePath(path).parts[:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if folder not in folders:
            return folder
    return None


def hidden_kept(kept: set[str], folders: set[str]) -> set[str]:
    """The files kept in the state (by shown name) whose folder was not listed: gone or
    unreadable, they keep their articles rather than count as deleted."""
    if not kept:
        return set()
    listed = {shown(folder) for folder in folders}
    return {path for path in kept if unlisted(path, listed) is not None}


def gone_folder(folder: str, count: int) -> Problem:
    return Problem(folder, None, f"folder is gone while {count} of its seed files were "
                                 "published; their articles stay published until it is "
                                 "back (to unpublish them, create it again, empty)")


def ids_in(reads: Reads, files: Mapping[str, Sequence[Brief]],
           leaving: Iterable[str]) -> set[str]:
    """The ids read this pass, or held by files not read again and not ``leaving``."""
    skip = set(leaving) | reads.keys()
    ids = {a.id for articles in reads.values() if articles for a in articles}
    ids.update(a.id for path, articles in files.items() if path not in skip for a in articles)
    return ids


def refuse_blind_loss(blind: Sequence[Problem], reads: Reads, feeds: Path) -> None:
    """Fail a first pass that cannot read part of the folder (``blind``) while the
    published site holds articles that are in no file it read: they may be there."""
    if not blind:
        return
    visible = {a.id for articles in reads.values() if articles for a in articles}
    missing = sum(1 for article_id in published(feeds) if article_id not in visible)
    if missing:
        raise SeedsUnavailable(
            f"{'; '.join(map(str, blind[:3]))}{'; ...' if len(blind) > 3 else ''}; "
            f"{missing} published articles are in no seed file that can be read: "
            "nothing is unpublished until it can be read (or is deleted)")


class ProblemLog:
    """Logs each problem of the folder once, when it appears, and the seeds folder's
    return: a rescan every few minutes must not repeat them."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.logged: set[Problem] = set()

    def update(self, problems: Iterable[Problem]) -> None:
        now = set(problems)
        for problem in now - self.logged:
            if problem.severity == "error":
                log.error("%s", problem)
            else:
                log.info("%s", problem)
        if any(problem.path == self.root for problem in self.logged - now):
            log.info("the seeds folder %s can be read again", self.root)
        self.logged = now
