"""The seed files as the publisher last read them: which changed, which may still be
being written, and the last good articles of a file that fails.

A rescan reads only files whose (mtime, size) changed since they were last read, and
leaves those modified within ``settle`` seconds for later: a file written through an
open handle must not be published half. A file that fails keeps its last good
articles published, across restarts too (the state keeps them); a file that is gone
unpublishes its articles.
"""

from __future__ import annotations

import logging
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from service.catalog.catalog import Catalog
from service.catalog.state import State
from service.config import Settings
from service.model import Article
from service.seed.folder import is_seed_name, scan, settling_for
from service.seed.problems import Problem, SeedError
from service.seed.read import read_seed

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
Reads = dict[str, Sequence[Article] | None]  # path -> its articles (None: the file is gone)


@dataclass
class FileState:
    stat: tuple[int, int] | None = None  # (mtime_ns, size) when last read
    error: Problem | None = None
    warnings: tuple[Problem, ...] = ()


class Sources:
    """Reads the seed files a pass needs, and remembers what each one last gave."""

    def __init__(self, settings: Settings, state: State, catalog: Catalog,
                 settle: float) -> None:
        self.settings, self.state, self.catalog = settings, state, catalog
        # A rescan leaves files modified less than this long ago: a file being written
        # through an open handle must not be published half (the watcher's events, or
        # the caller, bring them back once quiet). 0 for one-shot builds: read it all.
        self.settle = settle
        self.files: dict[str, FileState] = {}

    def read(self, paths: set[str] | None, progress: Progress | None,
             first_pass: bool) -> tuple[Reads, tuple[str, ...]]:
        """Parse the given files (None: rescan all). A file that fails keeps its last
        good articles; a file that is gone unpublishes its articles. Also returns the
        files a rescan left because they changed within ``settle`` seconds."""
        root = self.settings.seeds
        if paths is None:
            present = set(scan(root)) if root.is_dir() else set()
            paths, rescan = present | self.files.keys(), True
            self.state.forget_kept(self.state.kept - present)  # deleted while we were away
        else:
            rescan = False
        reads: Reads = {}
        young: list[str] = []
        total = len(paths)
        for done, path in enumerate(sorted(paths), start=1):
            if progress and (done % 16 == 0 or done == total):
                progress("read", done, total)
            found = _stat(root / path) if is_seed_name(path) else None
            if found is None:
                self._gone(path, reads)
                continue
            record = self.files.get(path)
            if rescan and record is not None and record.stat == found:
                continue  # unchanged since it was last read
            if rescan and self._changing(found):
                young.append(path)  # maybe half written: its last version holds meanwhile
                continue
            self._read_file(path, found, reads)
        if young and first_pass:
            young = self._read_once_quiet(young, reads)
        return reads, tuple(young)

    def problems(self) -> tuple[list[Problem], list[Problem]]:
        """Current errors and warnings of every file, in no particular order."""
        errors = [f.error for f in self.files.values() if f.error is not None]
        warnings = [w for f in self.files.values() for w in f.warnings]
        return errors, warnings

    def _read_file(self, path: str, found: tuple[int, int], reads: Reads) -> None:
        """Parse one file into ``reads``; ``found`` is its (mtime_ns, size)."""
        root = self.settings.seeds
        record = self.files.setdefault(path, FileState())
        record.stat = found
        try:
            seed = read_seed(root / path, path, timezone=self.settings.timezone,
                             max_size=self.settings.max_file_size)
        except SeedError as exc:
            if _stat(root / path) is None:  # deleted while we read it
                self._gone(path, reads)
                return
            record.error = exc.problem
            log.warning("%s", exc.problem)
            self._keep_last_good(path, reads)
            return
        record.error, record.warnings = None, seed.warnings
        for problem in seed.warnings:
            log.info("%s", problem)
        reads[path] = seed.articles
        self.state.forget_kept([path])

    def _gone(self, path: str, reads: Reads) -> None:
        if self.files.pop(path, None) is not None:
            reads[path] = None
        self.state.forget_kept([path])

    def _changing(self, found: tuple[int, int]) -> bool:
        """Modified within ``settle`` seconds: maybe still being written."""
        return settling_for(found[0] / 1e9, time.time(), self.settle) > 0

    def _read_once_quiet(self, young: list[str], reads: Reads) -> list[str]:
        """The first pass of a process knows nothing of a young file's last version:
        leaving the file out would unpublish its articles until it settles. So it waits
        for such files to go quiet (a second, usually; a few at most) and reads them.
        Returns those still changing after that, left to the live side."""
        root, deadline = self.settings.seeds, time.monotonic() + 5 * self.settle
        while young and time.monotonic() < deadline:
            time.sleep(0.05)
            waiting = []
            for path in young:
                found = _stat(root / path)
                if found is not None and self._changing(found):
                    waiting.append(path)
                elif found is not None:
                    self._read_file(path, found, reads)
            young = waiting
        return young

    def _keep_last_good(self, path: str, reads: Reads) -> None:
        """A file that fails keeps its last good articles published, across restarts
        too: the state remembers them when the failure is first seen, and a process
        that has not read the file before publishes them from there."""
        last = self.catalog.files.get(path)
        if last is None:
            kept = self.state.kept_articles(path)
            if kept:
                reads[path] = kept
        elif last and path not in self.state.kept:
            self.state.keep(path, last)


def _stat(path: Path) -> tuple[int, int] | None:
    """(mtime_ns, size) of a regular file, None if it is gone or not a file."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if stat.S_ISREG(info.st_mode) else None
