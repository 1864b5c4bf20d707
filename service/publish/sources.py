"""The seed files as the publisher last read them: which changed, which may still be
being written, and the last good articles of a file that fails or cannot be seen.

A rescan reads only files whose (mtime, size) changed since they were last read; a
file that fails keeps its last good articles published, across restarts too; a file
deleted from a folder that can be read unpublishes its articles.

Absence is not deletion. A seeds folder that is missing, unreadable or empty where it
held files, and a subfolder that cannot be listed or is gone while its files were
published, are errors; the files they held keep their articles (across restarts, for
subfolders). A first pass that cannot see what the published site holds fails
(``SeedsUnavailable``) rather than unpublish, and is retried.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from service.catalog.catalog import Catalog
from service.catalog.state import State
from service.catalog.texts import Texts
from service.config import Settings
from service.model import Brief
from service.publish import readahead, unseen
from service.seed import folder as seeds
from service.seed.folder import Listing
from service.seed.problems import Problem, shown

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
Reads = dict[str, Sequence[Brief] | None]  # path -> its articles (None: the file is gone)


@dataclass
class FileState:
    stat: tuple[int, int] | None = None  # (mtime_ns, size) when last read
    error: Problem | None = None
    warnings: tuple[Problem, ...] = ()


class Sources:
    """Reads the seed files a pass needs, and remembers what each one last gave."""

    def __init__(self, settings: Settings, state: State, catalog: Catalog, texts: Texts,
                 settle: float, earlier: Mapping[str, tuple[Brief, ...]]) -> None:
        self.settings, self.state, self.catalog, self.texts = settings, state, catalog, texts
        self.earlier = earlier  # articles held before a failed pass: _keep_last_good
        # A rescan leaves files modified less than ``settle`` s ago, maybe half written
        # (the watcher or the caller bring them back once quiet); 0 for one-shot builds.
        self.settle = settle
        self.files: dict[str, FileState] = {}
        self.folder: Problem | None = None  # the seeds folder's own problem
        self.listed: dict[str, Problem] = {}  # what the last listing could not read, by path
        self._log = unseen.ProblemLog(settings.seeds)
        self._blind: list[str] = []  # files there that could not be read, this pass
        self._ahead: readahead.ReadAhead | None = None  # a first pass's forked reader

    def read(self, paths: set[str] | None, progress: Progress | None,
             first_pass: bool) -> tuple[Reads, tuple[str, ...]]:
        """Parse the given files (None: rescan all). A file that fails keeps its last
        good articles; a file that is gone unpublishes its articles. Also returns the
        files a rescan left because they changed within ``settle`` seconds."""
        root, listing = self.settings.seeds, None
        problem = seeds.folder_problem(root)
        if problem is None and paths is None:
            try:
                listing = seeds.walk(root)
            except OSError as exc:
                problem = seeds.cannot_read(exc)
        if problem is None and unseen.emptied(listing, paths, bool(self.files), first_pass,
                                              self.settings):
            problem = "is empty, but held seed files when it was last read"
        self.folder = None if problem is None else Problem(
            str(root), None, f"the seeds folder {problem}; {unseen.KEPT}")
        if self.folder is not None:
            if first_pass and any(unseen.published(self.settings.feeds)):
                raise unseen.SeedsUnavailable(str(self.folder))  # the failed pass says it
            self._log.update([self.folder, *self.listed.values()])
            return {}, ()
        self._blind = []
        young: list[str] = []
        if listing is None:
            reads = self._read_paths(sorted(paths or ()), progress)
        else:
            reads, young = self._rescan(listing, progress, first_pass)
            if first_pass:
                unseen.refuse_blind_loss(self._blind_problems(listing), reads, self.settings.feeds)
        if young and first_pass:  # after a failed pass, a young file's articles hold
            young = self._read_once_quiet(young, reads)
            reads.update((path, self.earlier[path]) for path in young if path in self.earlier)
        self._log.update(self.listed.values())
        return reads, tuple(young)

    def problems(self) -> tuple[list[Problem], list[Problem]]:
        """Current errors and warnings of every file, in no particular order."""
        errors = [f.error for f in self.files.values() if f.error is not None]
        warnings = [w for f in self.files.values() for w in f.warnings]
        for problem in self.listed.values():
            (errors if problem.severity == "error" else warnings).append(problem)
        errors += [self.folder] if self.folder is not None else []
        return errors, warnings

    def _read_paths(self, paths: list[str], progress: Progress | None) -> Reads:
        """An incremental pass: these files changed (a file that is gone is deleted)."""
        reads: Reads = {}
        for done, path in enumerate(paths, start=1):
            if progress and (done % 16 == 0 or done == len(paths)):
                progress("read", done, len(paths))
            self.listed.pop(shown(path), None)
            self._read_present(path, reads, None)
        return reads

    def _rescan(self, listing: Listing, progress: Progress | None,
                first_pass: bool) -> tuple[Reads, list[str]]:
        """Every file: read what changed, and tell a file deleted (its folder was listed)
        from one that cannot be seen (its folder was not), which keeps its articles."""
        present = set(listing.files)
        self.listed = {problem.path: problem for problem in listing.problems}
        hidden = unseen.hidden_kept(self.state.kept, listing.folders)
        if self.state.kept:  # kept files deleted while we were away: forgotten
            there = {shown(path) for path in present} | hidden
            self.state.forget_kept([path for path in self.state.kept if path not in there])
        paths = present | self.files.keys() | hidden
        reads: Reads = {}
        young: list[str] = []
        hiding: list[str] = []
        with readahead.start(self.settings, sorted(present), self.texts, first_pass) as self._ahead:
            for done, path in enumerate(sorted(paths), start=1):
                if progress and (done % 16 == 0 or done == len(paths)):
                    progress("read", done, len(paths))
                if path in present:
                    self._read_present(path, reads, young)
                elif path in hidden or unseen.unlisted(path, listing.folders) is not None:
                    hiding.append(path)
                else:
                    self._gone(path, reads)
        self._ahead = None
        self._keep_unseen(hiding, listing, reads)
        return reads, young

    def _read_present(self, path: str, reads: Reads, young: list[str] | None) -> None:
        """Read one file if it changed; ``young`` (a rescan) collects files that changed
        within the settle time, left for later."""
        try:
            found = self._look(path)
        except OSError as exc:
            self._unreadable(path, Problem(path, None, seeds.cannot_read(exc)), reads)
            return
        if found is None:
            self._gone(path, reads)
            return
        record = self.files.get(path)
        if young is not None and record is not None and record.stat == found:
            return  # unchanged since it was last read
        if young is not None and self._changing(found):
            young.append(path)  # maybe half written: its last version holds meanwhile
            return
        self._read_file(path, found, reads)

    def _read_file(self, path: str, found: tuple[int, int], reads: Reads) -> None:
        """Parse one file into ``reads`` (or take what a reader ahead parsed); ``found``:
        its (mtime_ns, size). What goes wrong with a file is its error; a full disk is
        the pass's."""
        record = self.files.setdefault(path, FileState())
        record.stat = found
        outcome = ((self._ahead.take(path, found) if self._ahead else None)
                   or readahead.parse_here(self.settings, path, self.texts, record.error))
        if outcome[0] == "unreadable":
            self._unreadable(path, outcome[1], reads)
        elif outcome[0] != "seed":  # the file's error (logged), or a bug in the reader
            if outcome[0] == "error":
                log.warning("%s", outcome[1])
            record.error = outcome[1]
            self._keep_last_good(path, reads)
        else:
            record.error, record.warnings = None, outcome[1]
            for problem in outcome[1]:
                log.info("%s", problem)
            reads[path] = outcome[2]
            self.state.forget_kept([shown(path)])

    def _unreadable(self, path: str, problem: Problem, reads: Reads) -> None:
        """A file that is there but cannot be read (what it holds is unknown), or that
        vanished while it was read."""
        if self._still_there(path):
            record = self.files.setdefault(path, FileState())
            if record.error != problem:
                log.warning("%s", problem)
            record.stat, record.error = None, problem  # read again at the next chance
            self._blind.append(path)
            self._keep_last_good(path, reads)
        else:
            self._gone(path, reads)

    def _look(self, path: str) -> tuple[int, int] | None:
        """(mtime_ns, size) of a seed file to read; None if it is gone, is no regular
        file, or links outside the folder (an error) or to another seed (read there).
        OSError if it cannot be looked at. An lstat; a realpath only for a link."""
        if not seeds.is_seed_name(path):
            return None
        full = os.path.join(self.settings.seeds, path)
        try:
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                target = seeds.inside(full, os.path.realpath(self.settings.seeds))
                if target is None:
                    self.listed[shown(path)] = Problem(path, None, seeds.OUTSIDE)
                if target is None or (target != path and seeds.is_seed_name(target)):
                    return None
                info = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (info.st_mtime_ns, info.st_size) if stat.S_ISREG(info.st_mode) else None

    def _still_there(self, path: str) -> bool:
        try:
            return self._look(path) is not None
        except OSError:
            return True

    def _gone(self, path: str, reads: Reads) -> None:
        if self.files.pop(path, None) is not None:
            reads[path] = None
        self.state.forget_kept([shown(path)])

    def _changing(self, found: tuple[int, int]) -> bool:
        """Modified within ``settle`` seconds: maybe still being written."""
        return seeds.settling_for(found[0] / 1e9, time.time(), self.settle) > 0

    def _read_once_quiet(self, young: list[str], reads: Reads) -> list[str]:
        """The first pass of a process knows nothing of a young file's last version:
        leaving the file out would unpublish its articles until it settles. So it waits
        for such files to go quiet (a second, usually; a few at most) and reads them.
        Returns those still changing after that, left to the live side."""
        deadline = time.monotonic() + 5 * self.settle
        while young and time.monotonic() < deadline:
            time.sleep(0.05)
            waiting = []
            for path in young:
                try:
                    found = self._look(path)
                except OSError:
                    found = None
                if found is not None and self._changing(found):
                    waiting.append(path)
                elif found is not None:
                    self._read_file(path, found, reads)
            young = waiting
        return young

    def _keep_last_good(self, path: str, reads: Reads) -> None:
        """A file that fails keeps its last good articles published, across restarts
        too: the state remembers them when the failure is first seen, and a process
        that has not read the file before publishes them from there. After a failed
        pass the catalog starts afresh, and what it held before stands in for it."""
        last, key = self.catalog.files.get(path), shown(path)
        if last is None and path in self.earlier:
            last = reads[path] = self.earlier[path]
        if last is None:
            if kept := self.state.kept_articles(key):
                reads[path] = self.texts.briefs(kept)
        elif last and key not in self.state.kept:
            self.state.keep(key, [self.texts.article(brief) for brief in last])

    def _keep_unseen(self, paths: list[str], listing: Listing, reads: Reads) -> None:
        """Files whose folder was not listed keep their articles, and the folder is
        named; but a folder gone because it moved (its files' articles are all read
        from files elsewhere) is a rename, and its old files are gone."""
        elsewhere: set[str] | None = None
        gone_with: dict[str, int] = {}
        for path in paths:
            folder = unseen.unlisted(path, listing.folders) or path
            if folder not in listing.unreadable:
                if elsewhere is None:
                    elsewhere = unseen.ids_in(reads, self.catalog.files, paths)
                last = self.catalog.files.get(path)
                if last and all(article.id in elsewhere for article in last):
                    self._gone(path, reads)
                    continue
                gone_with[folder] = gone_with.get(folder, 0) + 1
            self.files.setdefault(path, FileState()).stat = None  # read again once seen
            self._keep_last_good(path, reads)
        for folder, count in gone_with.items():
            self.listed[shown(folder)] = unseen.gone_folder(folder, count)

    def _blind_problems(self, listing: Listing) -> list[Problem]:
        """The errors of what is there but cannot be read: folders, then files."""
        blind = [self.listed[shown(f)] for f in listing.unreadable if shown(f) in self.listed]
        return blind + [error for path in self._blind if (error := self.files[path].error)]
