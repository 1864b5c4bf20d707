"""One publish pass: read the changed seed files, update the catalog, render only
what changed, write it atomically into feeds/.

The watcher's trigger, the periodic reconcile and ``seedfeeds build`` all call
``Publisher.publish``: a set of changed paths for an incremental pass, or None
to rescan the whole folder (files whose size and mtime did not change are not
read again, nor, when live, files changed too recently: they may still be being
written). The first pass of a process renders everything once, comparing with
what is on disk, so a restart rewrites no unchanged file.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import json
import logging
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from service import layout
from service.catalog import released as views
from service.catalog.catalog import Catalog, assign_slugs
from service.catalog.state import Seen, State, to_datetime
from service.config import Settings
from service.identity import tag_key
from service.model import Article, Entry, Feed, TagRef, TagSummary
from service.publish import fanout
from service.publish.fanout import Job
from service.publish.writer import SiteWriter, clean_temp_files
from service.render import files as render
from service.seed.folder import is_seed_name, scan, settling_for
from service.seed.problems import Problem, SeedError
from service.seed.read import read_seed

log = logging.getLogger(__name__)

HISTORY = 50  # publish passes kept in status.json, for the status page's chart
PARALLEL_MIN = 4000  # render jobs below which forking workers costs more than it saves
# What each kind of render job costs, in article pages (measured on the 100,000-article
# corpus: a page 0.1 ms, a tag's feeds in three formats with .gz 15 ms, a tag page 3 ms,
# the front files 50 ms): a cold build's workers get batches of equal cost.
JOB_WEIGHT = {"article": 1, "tag_page": 30, "feed": 150, "front": 500}
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class PassReport:
    """What one pass did: logged, returned, and kept in status.json."""

    started: str
    seconds: float
    cold: bool
    files_read: int
    articles_changed: int
    files_written: int
    files_unchanged: int
    files_removed: int
    files: int
    articles: int
    tags: int
    embargoed: int
    errors: int
    next_release: str | None
    unsettled: tuple[str, ...] = ()  # left by a rescan: changed too recently, maybe half written

    def line(self) -> str:
        return (f"{self.files} files, {self.articles} articles, {self.tags} tags, "
                f"{self.errors} errors; read {self.files_read} files, "
                f"{self.articles_changed} articles changed, wrote {self.files_written} "
                f"files, removed {self.files_removed}, in {self.seconds:.2f} s")


@dataclass
class _FileState:
    stat: tuple[int, int] | None = None  # (mtime_ns, size) when last read
    error: Problem | None = None
    warnings: tuple[Problem, ...] = ()


@dataclass
class _Rendered:
    """What each feed and tag page was last rendered from, to skip identical renders."""

    feeds: dict[str | None, Feed] = field(default_factory=dict)  # slug (None: all) -> feed
    pages: dict[str, tuple[Feed, int]] = field(default_factory=dict)  # slug -> (feed, count)


class Publisher:
    """Owns the catalog, the state and the site writer of one feeds/ folder."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time,
                 settle: float = 0.0) -> None:
        self.settings = settings
        self.clock = clock
        # A rescan leaves files modified less than this long ago: a file being written
        # through an open handle must not be published half (the watcher's events, or
        # the caller, bring them back once quiet). 0 for one-shot builds: read it all.
        self.settle = settle
        self.state = State(settings.state)
        self.catalog = Catalog()
        self.site = layout.site_of(settings)
        self.writer = SiteWriter(settings.feeds)
        self.files: dict[str, _FileState] = {}
        self.entries: dict[str, Entry] = {}  # the visible (released) articles
        self.order_keys: dict[str, tuple[float, str]] = {}  # id -> views.order(entry)
        self.embargoed: dict[str, datetime] = {}  # id -> release time, still ahead
        self.summaries: dict[str, TagSummary] = {}  # tag key -> its row on the index
        self._refs: dict[str, TagRef] = {}  # tag key -> how entries name it
        self.rendered = _Rendered()
        previous = _load_status(settings.feeds / layout.STATUS)
        self.history: list[dict[str, object]] = previous.get("history", [])[-HISTORY:]
        self.durations = Histogram.from_json(previous.get("publish_seconds"))
        self.passes = 0
        left = clean_temp_files(settings.feeds)
        if left:
            log.info("removed %d temp files left by an interrupted pass", left)

    def publish(self, paths: Iterable[str] | None = None,
                progress: Progress | None = None) -> PassReport:
        """Publish changes: ``paths`` relative to the seeds folder, or None for all."""
        started, now = time.perf_counter(), self.clock()
        cold = self.passes == 0
        with _collector_paused() if cold else contextlib.nullcontext():
            report = self._publish(paths, progress, started, now, cold)
        self.passes += 1
        log.info("publish pass: %s", report.line())
        return report

    def _publish(self, paths: Iterable[str] | None, progress: Progress | None,
                 started: float, now: float, cold: bool) -> PassReport:
        reads, unsettled = self._read(None if paths is None or cold else set(paths), progress)
        change = self.catalog.update(reads)
        self._remember(change.articles, now)
        dirty = set(change.articles) | self._due(now)
        for key in change.renamed:
            dirty |= self.catalog.tag_ids.get(key, set())
            self._refs.pop(key, None)
        if cold:
            dirty |= self.catalog.articles.keys()
        tags = set(change.tags) | set(change.renamed) | self._refresh(dirty, now)
        if cold:
            tags |= self.state.slugs.keys()
        self._render(dirty, tags, cold, now, progress)
        return self._report(started, now, cold, len(reads), len(change.articles), unsettled)

    def next_release(self) -> datetime | None:
        """When the next embargoed article is due, if any."""
        return min(self.embargoed.values(), default=None)

    def close(self) -> None:
        self.state.close()

    # --- reading and remembering ---------------------------------------------

    def _read(self, paths: set[str] | None, progress: Progress | None
              ) -> tuple[dict[str, Sequence[Article] | None], tuple[str, ...]]:
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
        reads: dict[str, Sequence[Article] | None] = {}
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
        if young and self.passes == 0:
            young = self._read_once_quiet(young, reads)
        return reads, tuple(young)

    def _read_file(self, path: str, found: tuple[int, int],
                   reads: dict[str, Sequence[Article] | None]) -> None:
        """Parse one file into ``reads``; ``found`` is its (mtime_ns, size)."""
        root = self.settings.seeds
        record = self.files.setdefault(path, _FileState())
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

    def _gone(self, path: str, reads: dict[str, Sequence[Article] | None]) -> None:
        if self.files.pop(path, None) is not None:
            reads[path] = None
        self.state.forget_kept([path])

    def _changing(self, found: tuple[int, int]) -> bool:
        """Modified within ``settle`` seconds: maybe still being written."""
        return settling_for(found[0] / 1e9, time.time(), self.settle) > 0

    def _read_once_quiet(self, young: list[str],
                         reads: dict[str, Sequence[Article] | None]) -> list[str]:
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

    def _keep_last_good(self, path: str, reads: dict[str, Sequence[Article] | None]) -> None:
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

    def _remember(self, changed: Iterable[str], now: float) -> None:
        """First sightings and edits into the state: they date the articles."""
        updates = {}
        for article_id in changed:
            digest = self.catalog.hashes.get(article_id)
            if digest is None:
                continue
            old = self.state.articles.get(article_id)
            if old is None:
                updates[article_id] = Seen(int(now), digest, None)
            elif old.content_hash != digest:
                updates[article_id] = Seen(old.first_seen, digest, int(now))
        self.state.remember_articles(updates)

    def _due(self, now: float) -> set[str]:
        """Embargoed articles whose release time has come."""
        return {i for i, when in self.embargoed.items() if when.timestamp() <= now}

    def _refresh(self, dirty: set[str], now: float) -> set[str]:
        """Rebuild the entries of dirty articles; return the tag keys they touch.

        An article whose release time is still ahead is withheld (embargoed) and
        touches nothing: its tags appear nowhere before it is out."""
        tags: set[str] = set()
        released = []
        for article_id in dirty:
            old = self.entries.pop(article_id, None)
            self.order_keys.pop(article_id, None)
            self.embargoed.pop(article_id, None)
            if old is not None:
                tags.update(tag_key(tag.name) for tag in old.tags)
            article = self.catalog.articles.get(article_id)
            if article is None:
                continue
            published, updated = views.times_of(article, self.state.articles[article_id])
            stamp = published.timestamp()
            if stamp > now:
                self.embargoed[article_id] = published
            else:
                released.append((article, published, updated, stamp))
        keys = {tag_key(name) for article, *_ in released for name in article.tags}
        tags |= keys
        self.state.claim_slugs(assign_slugs(
            sorted(keys - self.state.slugs.keys()), self.catalog.names, self.state.slugs))
        refs = self._refs
        for key in keys - refs.keys():
            refs[key] = TagRef(self.catalog.names[key], self.state.slugs[key])
        base_url = self.settings.base_url
        for article, published, updated, stamp in released:
            entry = views.entry_of(article, published, updated, views.tag_refs(article, refs),
                                   base_url)
            self.entries[article.id] = entry
            self.order_keys[article.id] = views.order(entry, stamp)
        return tags

    # --- rendering -----------------------------------------------------------

    def _render(self, dirty: set[str], tags: set[str], cold: bool, now: float,
                progress: Progress | None) -> None:
        """Decide what to render (here, in order), then render and write it (on every
        core in a cold build): article pages, tag feeds and pages, the front files."""
        jobs: list[Job] = []
        for article_id in sorted(dirty):
            if article_id in self.entries:
                jobs.append(("article", article_id))
            else:
                self.writer.remove(layout.article_file(article_id))
        if cold:
            self._remove_orphans()
        for key in sorted(tags & self.state.slugs.keys()):
            ids = [i for i in self.catalog.tag_ids.get(key, ()) if i in self.entries]
            self._mark_emptied(key, bool(ids), now)
            jobs.extend(self._tag_jobs(key, ids))
        all_feed = self._feed(None, None, self._all_candidates(dirty), None)
        if self.rendered.feeds.get(None) != all_feed or tags:
            jobs.append(("front", tuple(self._index_rows()), all_feed))
            self.rendered.feeds[None] = all_feed
        now_dt = datetime.fromtimestamp(int(now), UTC)
        # Fork only in a cold build of a large site, and only with no other thread running.
        workers = (fanout.workers_available() if cold and len(jobs) >= PARALLEL_MIN
                   and threading.active_count() == 1 else 1)
        fanout.run(jobs, lambda job: self._run_job(job, now_dt), self.writer, workers,
                   (lambda done, total: progress("render", done, total)) if progress else None,
                   weight=lambda job: JOB_WEIGHT[job[0]])
        self.writer.save_manifest()

    def _all_candidates(self, dirty: set[str]) -> Iterable[str]:
        """The ids that can be in the all feed's window: the last window and the dirty
        entries, unless an entry left the window (then all of them). This keeps a pass
        that adds one file from sorting 100,000 entries."""
        last = self.rendered.feeds.get(None)
        if last is None or any(e.id not in self.entries for e in last.entries):
            return self.entries.keys()
        return {e.id for e in last.entries} | {i for i in dirty if i in self.entries}

    def _tag_jobs(self, key: str, ids: list[str]) -> list[Job]:
        """The renders a tag needs: its feeds and its page, unless unchanged since last."""
        slug, name = self.state.slugs[key], self.catalog.names.get(key, key)
        feed = self._feed(slug, name, ids, key)
        jobs: list[Job] = []
        if self.rendered.feeds.get(slug) != feed:
            jobs.append(("feed", feed))
            self.rendered.feeds[slug] = feed
        if self.rendered.pages.get(slug) != (feed, len(ids)):
            jobs.append(("tag_page", feed, len(ids)))
            self.rendered.pages[slug] = (feed, len(ids))
        if ids:
            self.summaries[key] = views.summary_of(feed, name, len(ids))
        else:
            self.summaries.pop(key, None)
        return jobs

    def _run_job(self, job: Job, now: datetime) -> None:
        """Render one job's files and write them (possibly in a worker process)."""
        kind = job[0]
        if kind == "article":
            files = render.article_page_file(self.site, self.entries[job[1]])
        elif kind == "feed":
            files = render.feed_files(job[1])
        elif kind == "tag_page":
            files = render.tag_page_file(self.site, job[1], job[2])
        else:
            rows, all_feed = job[1], job[2]
            files = render.front_files(self.site, rows, all_feed, all_feed.updated)
        for path, data in files.items():
            self.writer.write(path, data, now)

    def _mark_emptied(self, key: str, has_articles: bool, now: float) -> None:
        """An emptied tag keeps a valid empty feed, dated when it emptied."""
        if not has_articles and key not in self.state.emptied:
            self.state.mark_emptied({key: int(now)})
        elif has_articles and key in self.state.emptied:
            self.state.mark_emptied({key: None})

    def _index_rows(self) -> list[TagSummary]:
        """The tags of the index and the OPML: most articles first, then by name."""
        return sorted(self.summaries.values(),
                      key=lambda s: (-s.count, s.name.casefold(), s.slug))

    def _feed(self, slug: str | None, name: str | None, ids: Iterable[str],
              key: str | None) -> Feed:
        """The newest entries of ``ids``, as the feed of a tag (or of all, slug None)."""
        window = heapq.nsmallest(self.settings.entries, ids, key=self.order_keys.__getitem__)
        emptied = self.state.emptied.get(key, 0) if key else 0
        return views.feed_of(self.settings, slug, name, (self.entries[i] for i in window),
                             to_datetime(emptied))

    def _remove_orphans(self) -> None:
        """Files no article or tag accounts for (articles deleted while the publisher
        was down, a lost state) are removed after the first pass."""
        wanted = {layout.article_file(i) for i in self.entries}
        for slug in self.state.slugs.values():
            wanted.add(layout.tag_page_file(slug))
            wanted.update(layout.feed_file(slug, fmt) for fmt in layout.FORMATS)
        for path in self.writer.files():
            if path.startswith(("articles/", "tags/")) and path not in wanted:
                self.writer.remove(path)

    # --- status --------------------------------------------------------------

    def problems(self) -> tuple[list[Problem], list[Problem]]:
        """Current errors and warnings of every file, by path then line."""
        errors = [f.error for f in self.files.values() if f.error is not None]
        warnings = [w for f in self.files.values() for w in f.warnings]
        warnings += self.catalog.duplicates()
        return sorted(errors, key=_where), sorted(warnings, key=_where)

    def _report(self, started: float, now: float, cold: bool, read: int,
                changed: int, unsettled: tuple[str, ...]) -> PassReport:
        count = self.writer.take_changes().count
        errors, warnings = self.problems()
        next_release = min(self.embargoed.values(), default=None)
        report = PassReport(
            started=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            seconds=round(time.perf_counter() - started, 4), cold=cold, files_read=read,
            articles_changed=changed, files_written=count.written,
            files_unchanged=count.unchanged, files_removed=count.removed,
            files=len(self.files), articles=len(self.entries), tags=len(self.summaries),
            embargoed=len(self.embargoed), errors=len(errors),
            next_release=next_release.isoformat() if next_release else None,
            unsettled=unsettled)
        self.history = [*self.history, _history_row(report)][-HISTORY:]
        self.durations.observe(report.seconds)
        status = {"last_pass": asdict(report), "errors": [p.to_json() for p in errors],
                  "warnings": [p.to_json() for p in warnings], "history": self.history,
                  "publish_seconds": self.durations.to_json()}
        self.writer.write_status(json.dumps(status, ensure_ascii=False,
                                            separators=(",", ":")).encode())
        return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a cold pass.

    A cold pass makes a few million objects that all live on (the catalog, the
    entries, the state) and no cycles: the collector would walk the growing heap
    again and again, a fifth of the pass, and free nothing. Afterwards the
    survivors are frozen, out of every later collection's way, so a long-running
    publisher does not walk its catalog each time the collector runs either."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _stat(path: Path) -> tuple[int, int] | None:
    """(mtime_ns, size) of a regular file, None if it is gone or not a file."""
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if stat.S_ISREG(info.st_mode) else None


def _where(problem: Problem) -> tuple[str, int]:
    return problem.path, problem.line or 0


def _history_row(report: PassReport) -> dict[str, object]:
    return {"started": report.started, "seconds": report.seconds,
            "files_read": report.files_read, "files_written": report.files_written,
            "articles_changed": report.articles_changed, "errors": report.errors}


def _load_status(path: Path) -> dict:
    """The previous status.json, to carry history and counters across restarts."""
    try:
        status = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


@dataclass
class Histogram:
    """Cumulative publish-pass durations, Prometheus style, kept in status.json so the
    stateless web process can serve them and a restart does not reset them."""

    BOUNDS: ClassVar[tuple[float, ...]] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                                           10.0, 30.0, 60.0)
    buckets: list[int] = field(default_factory=lambda: [0] * (len(Histogram.BOUNDS) + 1))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        for index, bound in enumerate((*self.BOUNDS, float("inf"))):
            if seconds <= bound:
                self.buckets[index] += 1
        self.count += 1
        self.total += seconds

    def to_json(self) -> dict[str, object]:
        labels = [*(f"{b:g}" for b in self.BOUNDS), "+Inf"]
        return {"buckets": dict(zip(labels, self.buckets, strict=True)), "count": self.count,
                "sum": round(self.total, 6)}

    @classmethod
    def from_json(cls, data: object) -> Histogram:
        histogram = cls()
        try:
            counts = list(data["buckets"].values())  # type: ignore[index]
            if len(counts) == len(histogram.buckets):
                histogram.buckets = [int(c) for c in counts]
                histogram.count = int(data["count"])  # type: ignore[index]
                histogram.total = float(data["sum"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError, AttributeError):
            pass
        return histogram
