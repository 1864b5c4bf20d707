"""One publish pass: read the changed seed files, update the catalog, render only
what changed, write it atomically into feeds/.

The watcher's trigger, the periodic reconcile and ``seedfeeds build`` all call
``Publisher.publish``: a set of changed paths for an incremental pass, or None
to rescan the whole folder (files whose size and mtime did not change are not
read again, nor, when live, files changed too recently: they may still be being
written). The first pass of a process renders everything once, comparing with
what is on disk, so a restart rewrites no unchanged file.

The stages, each in its own module: ``sources`` (which files to read, last good
articles), the catalog (what changed), ``dating`` (dates and embargo), ``plan``
(what to render), ``fanout`` and the ``writer`` (render and write), ``status``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime

from service import heap, layout
from service.catalog.catalog import Catalog
from service.catalog.state import State
from service.catalog.statefile import StateError
from service.catalog.texts import Texts
from service.config import Settings
from service.model import Brief
from service.publish import fanout
from service.publish.atomic import clean_temp_files
from service.publish.dating import Releases
from service.publish.fanout import Job
from service.publish.forks import WorkerDied
from service.publish.plan import JOB_WEIGHT, Planner
from service.publish.sitemaps import Sitemaps
from service.publish.sources import Progress, Sources
from service.publish.status import Failure, PassFailed, PassReport, StatusLog
from service.publish.unseen import SeedsUnavailable
from service.publish.writer import SiteWriter
from service.render import files as render
from service.seed.problems import Problem

log = logging.getLogger(__name__)

# Entries whose rendered parts a cold build's workers keep (5 kB each): enough that an
# entry's archives in its rare tags still find it (102,000 renders for 100,000 articles
# where 4,096 kept gave 115,000).
COLD_KEPT = 16384
# Faults of the world, not bugs: a disk, the state, the seeds folder, a worker the
# kernel killed (out of memory, say)
EXPECTED_FAULTS = (OSError, StateError, SeedsUnavailable, WorkerDied)


class Publisher:
    """Owns the catalog, the state and the site writer of one feeds/ folder."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time,
                 settle: float = 0.0) -> None:
        self.settings = settings
        self.clock = clock
        self.settle = settle
        self.state = State(settings.state)
        self.site = layout.site_of(settings)
        self.writer = SiteWriter(settings.feeds)
        self.status = StatusLog(settings.feeds / layout.STATUS)
        self.texts = Texts(settings.state.parent)
        self.failure: Failure | None = None
        self.passes = 0  # passes that succeeded
        # The article pages and archives the last pass wrote and removed (mirror/)
        self.pages_written: set[str] = set()
        self.pages_gone: set[str] = set()
        self._start_afresh({})
        left = clean_temp_files(settings.feeds)
        if left:
            log.info("removed %d temp files left by an interrupted pass", left)

    def _start_afresh(self, earlier: Mapping[str, tuple[Brief, ...]]) -> None:
        """What a pass builds up in memory, empty: the next pass reads and renders
        everything, as the first pass of a process does, comparing with what is on disk
        (the writer and the state only ever record what is done). ``earlier``: each
        file's articles as the catalog last held them, kept for files that now fail."""
        self.catalog = Catalog()
        self.sources = Sources(self.settings, self.state, self.catalog, self.texts, self.settle,
                               earlier)
        self.releases = Releases(self.catalog, self.state, self.texts, self.settings.base_url)
        self.planner = Planner(self.settings, self.catalog, self.state, self.releases)
        self.sitemaps = Sitemaps(self.settings)
        self._afresh = True

    def publish(self, paths: Iterable[str] | None = None,
                progress: Progress | None = None) -> PassReport:
        """Publish changes: ``paths`` relative to the seeds folder, or None for all.

        A pass is a transaction over its outputs: if any step fails, what the pass had
        built in memory is dropped, the failure goes to status.json, and ``PassFailed``
        is raised; the next pass (``retry_in`` says when) starts afresh, so nothing the
        failed pass left undone is taken as done."""
        started, now = time.perf_counter(), self.clock()
        if (paths is None and not self._afresh
                and not self.writer.intact(self.planner.unlisted())):
            log.warning("the published site in %s is damaged or gone: rebuilding it",
                        self.settings.feeds)
            self._start_afresh(self._held())
        cold = self._afresh
        try:
            with heap.cold_pass() if cold else contextlib.nullcontext():
                report = self._publish(paths, progress, started, now, cold)
        except Exception as exc:
            raise self._failed(exc, now) from exc
        self.status.committed()
        if self.failure is not None:
            log.info("publishing works again, after %d failed attempts",
                     self.failure.attempts)
        self.failure, self._afresh = None, False
        self.writer.settled()
        self.sources.earlier = {}  # the catalog holds every file's articles again
        self.passes += 1
        log.info("publish pass: %s", report.line())
        return report

    def _held(self) -> dict[str, tuple[Brief, ...]]:
        """Every file's articles as this publisher last knew them."""
        return {**self.sources.earlier, **self.catalog.files}

    def retry_in(self) -> float | None:
        """Seconds until a failed pass should be tried again; None while passes succeed."""
        return None if self.failure is None else self.failure.retry_in()

    def _failed(self, exc: Exception, now: float) -> PassFailed:
        """Drop the failed pass's work, record the failure, say so once in full."""
        self._start_afresh(self._held())
        self.writer.take_changes()
        self.texts.let_go()  # and what it read and rendered: the next pass renders afresh
        render.forget_entries(but=())
        error = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        first = self.failure is None
        since = now if self.failure is None else self.failure.since
        attempts = 1 if self.failure is None else self.failure.attempts + 1
        self.failure = Failure(since, now, attempts, error)
        # A disk, permission, state or seeds-folder fault explains itself; anything else
        # may be a bug: its traceback, once.
        log.error("publish pass failed (attempt %d): %s; the site stays as it was",
                  attempts, error, exc_info=first and not isinstance(exc, EXPECTED_FAULTS))
        try:
            self.writer.write_status(self.status.failing(self.failure))
        except OSError as status_error:
            log.warning("could not write the failure into status.json either: %s",
                        status_error)
        return PassFailed(error)

    def _publish(self, paths: Iterable[str] | None, progress: Progress | None,
                 started: float, now: float, cold: bool) -> PassReport:
        reads, unsettled = self.sources.read(None if paths is None or cold else set(paths),
                                             progress, first_pass=cold)
        change = self.catalog.update(reads)
        self.releases.remember(change.articles, now)
        dirty = set(change.articles) | self.releases.due(now)
        for key in change.renamed:
            dirty.update(self.catalog.tag_ids.get(key, ()))
            self.releases.renamed(key)
        if cold:
            dirty |= self.catalog.articles.keys()
        tags = set(change.tags) | set(change.renamed) | self.releases.refresh(dirty, now)
        if cold:
            tags |= self.state.slugs.keys()
        self._render(dirty, tags, cold, now, progress)
        self._let_go()
        return self._report(started, now, cold, len(reads), len(change.articles), unsettled)

    def next_release(self) -> datetime | None:
        """When the next embargoed article is due, if any."""
        return self.releases.next_release()

    def problems(self) -> tuple[list[Problem], list[Problem]]:
        """Current errors and warnings of every file, by path then line."""
        errors, warnings = self.sources.problems()
        warnings += self.catalog.duplicates()
        return sorted(errors, key=_where), sorted(warnings, key=_where)

    def close(self) -> None:
        self.state.close()
        self.texts.close()

    def _let_go(self) -> None:
        """Keep in memory the rendered parts of the entries a feed lists, and forget the
        texts read: what a pass read and rendered beyond them is not needed again until
        a page or an archive of theirs must be rendered anew."""
        self.texts.let_go()
        self.releases.let_go()
        render.forget_entries(but=self.planner.listed())
        self.texts.compact(self._live_briefs())

    def _live_briefs(self) -> Iterator[Brief]:
        """Every brief this publisher may read the text of: the catalog's, and those kept
        from before a failed pass."""
        for files in (self.catalog.files, self.sources.earlier):
            for briefs in files.values():
                yield from briefs

    def _render(self, dirty: set[str], tags: set[str], cold: bool, now: float,
                progress: Progress | None) -> None:
        """Render and write what the plan says: in a cold build, the article pages and
        archives on every core in forked workers, while this process plans, renders the
        feeds, tag pages and front files, and the sitemaps."""
        pages = self.planner.pages(dirty)
        for path in pages.removals:
            self.writer.remove(path)
        now_dt = datetime.fromtimestamp(int(now), UTC)
        workers = fanout.workers_for(len(pages.jobs)) if cold else 1
        jobs = self._warm_up(pages.jobs, now_dt) if workers > 1 else pages.jobs

        def meanwhile(submit: fanout.Submit) -> None:
            archives, feeds = self.planner.plan(dirty, tags, now, self._present)
            if cold:
                for path in self.planner.orphans(self.writer.files()):
                    self.writer.remove(path)
            submit(archives)
            for job in feeds:
                self._run_job(job, now_dt)
            self.sitemaps.publish(self.writer, self.releases, self.planner.summaries, dirty,
                                  tags, now)
        kept = COLD_KEPT if workers > 1 else render.KEPT
        render.keep_entries(kept)
        self.texts.recent = self.releases.recent = kept  # an entry kept is made once, too
        try:
            fanout.run(jobs, lambda job: self._run_job(job, now_dt), self.writer, workers,
                       (lambda done, total: progress("render", done, total)) if progress
                       else None, weight=lambda job: JOB_WEIGHT[job[0]], meanwhile=meanwhile)
        finally:
            render.keep_entries()
        self.writer.save_manifest()

    def _present(self, path: str) -> bool:
        """Whether a published file is there (an archive is never rendered again)."""
        return os.path.isfile(f"{self.settings.feeds}{os.sep}{path}")

    def _warm_up(self, jobs: list[Job], now: datetime) -> list[Job]:
        """Run the first job of each kind here, before the workers fork; the rest are
        theirs. The templates those jobs compile and the entries they render are then
        this process's as well as the workers': else the first pass after a cold build,
        the first file dropped, would compile them all (50 ms on a large site)."""
        firsts: dict[str, Job] = {}
        for job in jobs:
            firsts.setdefault(job[0], job)
        for job in firsts.values():
            self._run_job(job, now)
        done = {id(job) for job in firsts.values()}
        return [job for job in jobs if id(job) not in done]

    def _run_job(self, job: Job, now: datetime) -> None:
        """Render one job's files and write them (possibly in a worker process)."""
        kind = job[0]
        if kind == "article":
            files = render.article_page_file(self.site, self.releases.entry(job[1]))
        elif kind == "feed":
            files = render.feed_files(job[1])
        elif kind == "archive":
            files = render.archive_files(self.planner.archive_feed(*job[1:]), job[2])
        elif kind == "tag_page":
            files = render.tag_page_file(self.site, job[1], job[2])
        else:
            rows, all_feed = job[1], job[2]
            files = render.front_files(self.site, rows, all_feed, all_feed.updated)
        for path, data in files.items():
            self.writer.write(path, data, now)

    def _report(self, started: float, now: float, cold: bool, read: int,
                changed: int, unsettled: tuple[str, ...]) -> PassReport:
        changes = self.writer.take_changes()
        # A cold pass's mirror uploads every page anyway: no need to hold their names twice.
        self.pages_written = set() if cold else changes.pages
        self.pages_gone = changes.gone
        count = changes.count
        errors, warnings = self.problems()
        next_release = self.releases.next_release()
        report = PassReport(
            started=datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            seconds=round(time.perf_counter() - started, 4), cold=cold, files_read=read,
            articles_changed=changed, files_written=count.written,
            files_unchanged=count.unchanged, files_removed=count.removed,
            files=len(self.sources.files), articles=len(self.releases.entries),
            tags=len(self.planner.summaries), embargoed=len(self.releases.embargoed),
            errors=len(errors), next_release=next_release.isoformat() if next_release else None,
            unsettled=unsettled)
        self.writer.write_status(self.status.record(report, errors, warnings))
        return report


def _where(problem: Problem) -> tuple[str, int]:
    return problem.path, problem.line or 0
