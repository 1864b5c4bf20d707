"""A first pass's seed files parsed on two cores: a forked child parses the later half
while this process parses the first.

Parsing is most of a cold build's reading, and the build's other core idles through it
(at 20,000 articles the first pass read for 0.5 s; 0.3 s with a child reading ahead).
The child writes the texts to a spill file of its own (``Texts.part``, opened before
the fork) and sends back, per file, what parsing gave: the briefs (a few hundred bytes
an article, not the text) with the file's warnings, or its problem. This process takes
each result in the files' order, as if it had parsed the file itself, so the pass
reads the same; a result whose file changed since the child looked at it, or that the
child could not give (a bug in the reader, say), it parses here, where the failure is
logged as it would be.

``parse_here`` is how every pass parses a file in this process, the first pass's
first half among them.

The child does nothing else: it logs nothing and exits without cleaning up, and it dies
with this process (``forks.fork_child``). Forking is safe only while the process
runs one thread: a first pass beside other threads (the web server's) parses here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import stat
from collections.abc import Sequence
from typing import Any

from service.catalog.texts import Texts
from service.config import Settings
from service.publish.forks import fork_child, may_fork
from service.seed.problems import Problem, SeedError, UnreadableSeed, shown
from service.seed.read import read_seed

log = logging.getLogger(__name__)

READ_AHEAD_MIN = 64  # seed files below which a first pass parses them all here
# ("seed", warnings, articles or their briefs) | ("unreadable", problem) | ("error", problem)
Outcome = tuple[Any, ...]
Found = tuple[int, int]  # (mtime_ns, size) of a seed file, as ``Sources`` looks at it


def parse(settings: Settings, path: str) -> Outcome:
    """One seed file parsed: what a pass learns of it, a "seed" with its articles. A bug
    in the reader raises."""
    try:
        seed = read_seed(settings.seeds / path, shown(path), timezone=settings.timezone,
                         max_size=settings.max_file_size)
    except UnreadableSeed as exc:
        return ("unreadable", exc.problem)
    except SeedError as exc:
        return ("error", exc.problem)
    return ("seed", seed.warnings, seed.articles)


def parse_here(settings: Settings, path: str, texts: Texts, known: Problem | None) -> Outcome:
    """``parse`` and ``briefed`` in this process, as any pass reads a file. A bug in the
    reader must not stop the other files: it is the file's problem, its traceback
    logged unless it is the ``known`` one already. A full disk under the texts raises:
    the pass's failure, as every write's."""
    try:
        outcome = parse(settings, path)
    except Exception as exc:
        problem = Problem(path, None, f"could not be read: {type(exc).__name__}: {exc}")
        if known != problem:
            log.exception("%s: unexpected failure, reported as the file's error", shown(path))
        outcome = ("bug", problem)
    return briefed(outcome, texts)


def briefed(outcome: Outcome, texts: Texts) -> Outcome:
    """A parsed seed's articles as briefs, their texts written to ``texts``; apart from
    ``parse``, so that a full disk there is the pass's failure, not the file's."""
    if outcome[0] != "seed":
        return outcome
    return ("seed", outcome[1], texts.briefs(outcome[2]))


class ReadAhead:
    """The child parsing ``paths``, and its results once asked for; a context manager
    that stops the child at its end."""

    def __init__(self, settings: Settings, paths: Sequence[str], texts: Texts) -> None:
        self._texts, self._part, self._paths = texts, texts.part(), set(paths)
        self._results: dict[str, tuple[Found, Outcome | None]] | None = None
        reader, writer = os.pipe()

        def child() -> None:  # parse, send, and go
            os.close(reader)
            _parse_all(settings, paths, self._part, writer)
        self._pid = fork_child(child)
        os.close(writer)
        self._pipe = reader

    def take(self, path: str, found: Found) -> Outcome | None:
        """What the child gave for ``path``, if it looked at the file as it is now
        (``found``); None: parse it here (as every file not given to the child)."""
        if path not in self._paths:
            return None
        if self._results is None:
            self._results = self._receive()
        got = self._results.pop(path, None)
        return got[1] if got is not None and got[0] == found else None

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child if it still runs, and let its spill file go (what was taken
        from it is this process's own by now). Nothing is taken after this."""
        self._paths, self._results = set(), {}
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = 0
        with contextlib.suppress(OSError):
            os.close(self._pipe)
        self._part.close()

    def _receive(self) -> dict[str, tuple[Found, Outcome | None]]:
        """The child's results, all at once (it sends them when it is done), their
        texts appended to this process's spill file."""
        with os.fdopen(self._pipe, "rb", closefd=False) as pipe:
            try:
                end, results = pickle.load(pipe)
            except (EOFError, pickle.UnpicklingError):  # it died: everything is parsed here
                return {}
        briefs = [brief for _, outcome in results.values()
                  if outcome is not None and outcome[0] == "seed" for brief in outcome[2]]
        self._texts.adopt(self._part, end, briefs)
        return results


def start(settings: Settings, paths: Sequence[str], texts: Texts,
          first_pass: bool) -> contextlib.AbstractContextManager[ReadAhead | None]:
    """A child reading the later half of ``paths`` ahead, in a first pass of enough of
    them while this process runs one thread; else nothing (None, as a context)."""
    if not first_pass or len(paths) < READ_AHEAD_MIN or not may_fork():
        return contextlib.nullcontext()
    return ReadAhead(settings, paths[len(paths) // 2:], texts)


def _parse_all(settings: Settings, paths: Sequence[str], part: Texts, pipe: int) -> None:
    results: dict[str, tuple[Found | None, Outcome | None]] = {}
    for path in paths:
        try:
            info = os.stat(settings.seeds / path)
        except OSError:
            info = None
        if info is None or not stat.S_ISREG(info.st_mode):  # never open a FIFO: it waits
            results[path] = (None, None)
            continue
        try:
            outcome: Outcome | None = briefed(parse(settings, path), part)
        except Exception:  # parsed again by the parent, which reports it (or fails)
            outcome = None
        results[path] = ((info.st_mtime_ns, info.st_size), outcome)
    with os.fdopen(pipe, "wb") as stream:
        pickle.dump((part.size, results), stream, protocol=pickle.HIGHEST_PROTOCOL)
