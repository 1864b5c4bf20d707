"""The truth: what seeds/ holds and since when, worked out with the server's own
reader from the bytes this script wrote, independently of the server."""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .faults import Deadlines

FIRST_SEEN_SLACK = 60.0  # s: a pass may take its time stamp this long before it reads a file


class Parsed(NamedTuple):
    """One article of one version of a seed file, as the server's reader sees it."""

    id: str
    title: str
    tags: frozenset[str]  # tag keys
    release: float | None  # epoch seconds; None: dated when the server first sees it
    line: int
    names: tuple[str, ...]  # the tags as written


class Reader:
    """The server's own reader and tag identity, imported from the code copy the
    server runs, so both sides agree on ids by construction; what is tested is
    everything after the reader: catalog, state, scheduler, watcher, writer, web."""

    def __init__(self, code: Path) -> None:
        sys.path.insert(0, str(code))
        self._parse = importlib.import_module("service.seed.read").parse_seed
        self._error = importlib.import_module("service.seed.problems").SeedError
        self.tag_key: Callable[[str], str] = importlib.import_module(
            "service.identity").tag_key

    def articles(self, data: bytes, path: str) -> tuple[Parsed, ...] | None:
        """The articles of ``data``; None if the server must report the file an error."""
        try:
            seed = self._parse(data, path)
        except self._error:
            return None
        return tuple(Parsed(a.id, a.title, frozenset(map(self.tag_key, a.tags)),
                            a.published.timestamp() if a.published else None, a.line,
                            a.tags)
                     for a in seed.articles)


@dataclass
class Known:
    """An article some version of some seed file held."""

    id: str
    title: str
    tags: frozenset[str]
    release: float | None
    first_held: float  # when a file first (was about to) hold it: bounds its first-seen date
    holders: set[str] = field(default_factory=set)  # files that should publish it now
    since: float | None = None  # held without a break since then; None: not held
    gone: float | None = None  # held by no file since then (None: held, or never held)
    whole: bool = False  # a complete file held it, not only a half-written one
    published: int | None = None  # as the server first showed it
    first_shown: float | None = None  # the first answer showing it came by then
    doubts: set[str] = field(default_factory=set)  # broken files that may still publish it

    def earliest(self) -> float:
        """The earliest `published` the server may give it: exact once seen or dated."""
        if self.published is not None:
            return self.published
        if self.release is not None:
            return self.release
        return self.first_held - FIRST_SEEN_SLACK

    def settled(self, when: float, deadlines: Deadlines) -> bool:
        """Held long enough before ``when`` (and released) that it must be published."""
        return (self.since is not None and deadlines.change(self.since) <= when
                and self.whole
                and (self.release is None or deadlines.release(self.release) <= when))


@dataclass(frozen=True)
class Version:
    """Bytes about to be written to a path, and what they publish (None: an error)."""

    path: str
    data: bytes
    articles: tuple[Parsed, ...] | None


@dataclass
class SeedState:
    data: bytes
    ids: tuple[str, ...]  # what the server should publish: the last version that parsed
    ok: bool  # the current bytes parse
    written: float  # when these bytes were written
    doubtful: tuple[str, ...] = ()  # last good ids the server may have lost (see doubt)


class Truth:
    """Every version of every file this script wrote, and each article's comings and
    goings. A change is registered before its bytes hit the disk and takes effect
    after, all under ``lock``: a check waits for it, so no answer is ever judged
    against a truth that is half a change behind the disk."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.articles: dict[str, Known] = {}
        self.files: dict[str, SeedState] = {}
        self.by_tag: dict[str, set[str]] = {}
        self.held: set[str] = set()
        self.lock = threading.RLock()

    def version(self, path: str, data: bytes, whole: bool = True) -> Version:
        """Parse ``data`` as the server will, and learn its articles; ``whole``: the
        bytes are a complete file, not the part written so far."""
        parsed = self.reader.articles(data, path)
        now = time.time()
        with self.lock:
            for article in parsed or ():
                known = self.articles.get(article.id)
                if known is None:
                    known = self.articles[article.id] = Known(
                        article.id, article.title, frozenset(), article.release, now)
                if whole or not known.tags:
                    self._retag(known, article.tags)
                known.whole |= whole
        return Version(path, data, parsed)

    def _retag(self, known: Known, tags: frozenset[str]) -> None:
        """A file cut short right after a headline gives the same id without its tags:
        the complete file says which tags the article carries."""
        for key in known.tags - tags:
            self.by_tag[key].discard(known.id)
        for key in tags - known.tags:
            self.by_tag.setdefault(key, set()).add(known.id)
        known.tags = tags

    def written(self, version: Version) -> None:
        """``version`` is on disk."""
        now = time.time()
        with self.lock:
            old = self.files.get(version.path)
            self._undoubt(version.path, old, now)
            before = old.ids if old else ()
            if version.articles is None:  # an error keeps the last good articles
                self.files[version.path] = SeedState(version.data, before, False, now)
                return
            ids = tuple(dict.fromkeys(a.id for a in version.articles))
            self.files[version.path] = SeedState(version.data, ids, True, now)
            self._move(version.path, before, ids, now)

    def deleted(self, path: str) -> None:
        now = time.time()
        with self.lock:
            old = self.files.pop(path, None)
            self._undoubt(path, old, now)
            if old is not None:
                self._move(path, old.ids, (), now)

    def doubt(self, path: str) -> None:
        """A broken file whose failure the server may not have seen before it died: a
        fresh server cannot know its last good articles, so from now on they are
        neither required nor forbidden, until the file changes again."""
        now = time.time()
        with self.lock:
            state = self.files.get(path)
            if state is None or state.ok or not state.ids:
                return
            for article_id in state.ids:
                self.articles[article_id].doubts.add(path)
            self._move(path, state.ids, (), now)
            state.ids, state.doubtful = (), state.ids

    def _undoubt(self, path: str, old: SeedState | None, now: float) -> None:
        """The file changed: the server must drop what it kept of it, as of now."""
        for article_id in old.doubtful if old else ():
            known = self.articles[article_id]
            known.doubts.discard(path)
            if not known.holders:
                known.gone = now

    def _move(self, path: str, before: tuple[str, ...], after: tuple[str, ...],
              now: float) -> None:
        for article_id in set(before) - set(after):
            known = self.articles[article_id]
            known.holders.discard(path)
            if not known.holders:
                known.since, known.gone = None, now
                self.held.discard(article_id)
        for article_id in set(after) - set(before):
            known = self.articles[article_id]
            if not known.holders:
                known.since, known.gone = now, None
                self.held.add(article_id)
            known.holders.add(path)

    def get(self, article_id: str) -> Known | None:
        with self.lock:
            return self.articles.get(article_id)

    def held_ids(self, tag: str | None = None) -> list[str]:
        """Ids held now: all of them, or those of one tag key."""
        with self.lock:
            if tag is None:
                return list(self.held)
            return [i for i in self.by_tag.get(tag, ()) if i in self.held]

    def paths(self, ok: bool | None = None, quiet: float = 0.0) -> list[str]:
        """Files (that parse, or not), unchanged for ``quiet`` seconds."""
        before = time.time() - quiet
        with self.lock:
            return sorted(p for p, s in self.files.items()
                          if (ok is None or s.ok == ok) and s.written <= before)

    def data(self, path: str) -> bytes:
        with self.lock:
            return self.files[path].data
