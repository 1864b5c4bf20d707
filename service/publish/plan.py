"""Render planning: which files a pass must render, given what changed.

Each feed and tag page remembers the feed it was last rendered from, so a pass
renders only what differs: a change to one article re-renders its page, its tags'
feeds and pages, and the front files (the all feed, index, OPML), nothing else.
Each feed's archive log (``archives``) says which entries its subscription document
holds; the archives it freezes are rendered once, and never again while their files
are there. The plan is a list of jobs, rendered here or by forked workers (``fanout``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from service import layout
from service.catalog import released as views
from service.catalog.catalog import Catalog
from service.catalog.records import Bucket, to_datetime
from service.catalog.state import State
from service.config import Settings
from service.identity import tag_key
from service.model import Feed, TagSummary
from service.publish.archives import FeedLog
from service.publish.dating import Releases
from service.publish.fanout import Job

# Jobs: ("article", id), ("feed", feed), ("tag_page", feed, count), ("front", rows, all feed),
# ("archive", feed key, number, its ids oldest first).
# What each kind of render job costs, in article pages (measured on the 100,000-article
# corpus: a page 0.1 ms, a tag's feeds in three formats with .gz 15 ms, a tag page 3 ms,
# the front files 50 ms, an archive in three formats 1 ms): a cold build's workers get
# batches of equal cost.
JOB_WEIGHT = {"article": 1, "tag_page": 30, "feed": 150, "front": 500, "archive": 10}
ALL = ""  # the all feed's key among the tags' in the archive logs


@dataclass
class _Rendered:
    """What each feed and tag page was last rendered from, to skip identical renders."""

    feeds: dict[str | None, Feed] = field(default_factory=dict)  # slug (None: all) -> feed
    pages: dict[str, tuple[Feed, int]] = field(default_factory=dict)  # slug -> (feed, count)


@dataclass(frozen=True)
class Plan:
    jobs: list[Job]
    removals: list[str]  # article pages whose article is gone or withheld


class Planner:
    """Decides a pass's render jobs, and keeps the index rows of every tag."""

    def __init__(self, settings: Settings, catalog: Catalog, state: State,
                 releases: Releases) -> None:
        self.settings, self.catalog, self.state = settings, catalog, state
        self.releases = releases
        self.rendered = _Rendered()
        self.summaries: dict[str, TagSummary] = {}  # tag key -> its row on the index
        self.logs: dict[str, FeedLog] = {}  # tag key (ALL: the all feed) -> its archive log
        self._frozen: list[tuple[str, int, Bucket]] = []
        self._ranked: dict[str, int] | None = None  # _rank's, for one pass
        # _members_before's, for one pass
        self._before: dict[str, dict[str, tuple[float, float, str]]] | None = None

    def pages(self, dirty: set[str]) -> Plan:
        """The article pages a pass must render, and those it must remove (their
        article is gone or withheld): rendered first, and the one part of a plan that
        needs nothing but the entries."""
        entries = self.releases.entries
        jobs: list[Job] = []
        removals: list[str] = []
        for article_id in sorted(dirty):
            if article_id in entries:
                jobs.append(("article", article_id))
            else:
                removals.append(layout.article_file(article_id))
        return Plan(jobs, removals)

    def plan(self, dirty: set[str], tags: set[str], now: float,
             present: Callable[[str], bool] = lambda path: False
             ) -> tuple[list[Job], list[Job]]:
        """The archives to render, and the tag feeds and pages and front files.
        ``present``: whether a file is there, asked in the first pass of a process of
        each archive (one that is there is not rendered again)."""
        entries = self.releases.entries
        archives: list[Job] = []
        feeds: list[Job] = []
        for key in sorted(tags & self.state.slugs.keys()):
            ids = [i for i in self.catalog.tag_ids.get(key, ()) if i in entries]
            self._mark_emptied(key, bool(ids), now)
            archives += self._archive_jobs(key, ids, dirty, present)
            feeds.extend(self._tag_jobs(key, ids))
        archives += self._archive_jobs(ALL, entries.keys(), dirty, present)
        # Oldest first, all feeds' archives interleaved: an article's archives (one in
        # each of its feeds) come close together, while its rendered parts are still kept.
        order = self.releases.order_of

        def newest(job: Job) -> tuple[float, float, str]:
            return order(job[3][-1]) if job[3] else (0.0, 0.0, "")
        archives.sort(key=newest, reverse=True)
        self.state.record_archives(self._frozen)
        self._frozen, self._ranked, self._before = [], None, None
        all_feed = self._feed(None, None, None)
        if self.rendered.feeds.get(None) != all_feed or tags:
            feeds.append(("front", tuple(self._index_rows()), all_feed))
            self.rendered.feeds[None] = all_feed
        return archives, feeds

    def listed(self) -> set[str]:
        """The ids of every subscription document as last rendered (those of the tag
        pages too): the entries a feed lists."""
        return {entry.id for feed in self.rendered.feeds.values() for entry in feed.entries}

    def unlisted(self) -> Iterator[str]:
        """The article pages and archive documents the site has (none on a first pass)."""
        for article_id in self.releases.entries:
            yield layout.article_file(article_id)
        for key, log in self.logs.items():
            yield from self._archive_files(key, range(1, len(log.archives) + 1))

    def orphans(self, published: Iterable[str]) -> list[str]:
        """Files no article or tag accounts for (articles deleted while the publisher
        was down, a lost state), removed after the first pass."""
        wanted = {layout.article_file(i) for i in self.releases.entries}
        for slug in self.state.slugs.values():
            wanted.add(layout.tag_page_file(slug))
            wanted.update(layout.feed_file(slug, fmt) for fmt in layout.FORMATS)
        for key, log in self.logs.items():
            wanted.update(self._archive_files(key, range(1, len(log.archives) + 1)))
        return [path for path in published
                if path.startswith(("articles/", "tags/", f"{layout.ARCHIVE}/"))
                and path not in wanted]

    def _archive_files(self, key: str, numbers: Iterable[int]) -> set[str]:
        slug = self.state.slugs[key] if key else None
        return {layout.archive_file(slug, number, fmt) for number in numbers
                for fmt in layout.FORMATS}

    def _archive_jobs(self, key: str, ids: Iterable[str], dirty: set[str],
                      present: Callable[[str], bool]) -> list[Job]:
        """Bring a feed's archive log up to date; the archives to render: those it froze
        or rewrote, and in a process's first pass those whose files are missing. The
        archives are recorded in the state with the plan, before they are written: a
        pass that fails starts afresh, and the next renders every missing file."""
        entries, log = self.releases.entries, self.logs.get(key)
        members = entries if not key else set(ids)
        updated = self.releases.updated_of
        numbers: set[int] = set()
        started = log is None  # a process's first pass: feeds freeze their backlogs
        if log is None:
            archived = self.state.archived.get(key, [])
            for bucket in archived:  # read from the state: the catalog's ids, not copies
                bucket.share(entries)
            log = self.logs[key] = FeedLog(archived, self._place)
            numbers.update(log.start(ids, members.__contains__, updated))
            numbers.update(number for number in range(1, len(log.archives) + 1)
                           if not all(map(present, self._archive_files(key, (number,)))))
        else:
            was = self._members_before().get(key, {})
            candidates = ({i for i in dirty if i in members} if len(dirty) < len(members)
                          else {i for i in members if i in dirty})
            numbers.update(log.change(candidates | was.keys(), members.__contains__, updated,
                                      was))
        numbers.update(log.freeze(self.releases.order_of, updated,
                                  self.settings.entries, self.settings.archive_size,
                                  self._rank() if len(log.open) > 4096 or (
                                      started and len(log.open) > self.settings.entries)
                                  else None))
        self._frozen += [(key, n, log.archives[n - 1]) for n in sorted(numbers)]
        return [("archive", key, number, log.archives[number - 1].ids)
                for number in sorted(numbers)]

    def _place(self, article_id: str) -> tuple[float, float, str] | None:
        """An entry's place now; that of one this pass took out, where it was."""
        dated = self.releases.entries.get(article_id) or self.releases.before.get(article_id)
        return None if dated is None else dated.order

    def _members_before(self) -> dict[str, dict[str, tuple[float, float, str]]]:
        """For each feed, its entries this pass changed as the last pass had them, by
        their places then: what its log may hold frozen (what it had)."""
        if self._before is None:
            self._before = {}
            for article_id, dated in self.releases.before.items():
                place = dated.order
                self._before.setdefault(ALL, {})[article_id] = place
                for key in {tag_key(name) for name in dated.tags}:
                    self._before.setdefault(key, {})[article_id] = place
        return self._before

    def _rank(self) -> Callable[[str], int]:
        """Every entry's place in arrival order, newest 0, for this pass."""
        if self._ranked is None:
            self._ranked = {i: n for n, i in enumerate(sorted(self.releases.entries,
                                                              key=self.releases.order_of))}
        return self._ranked.__getitem__

    def archive_feed(self, key: str, number: int, ids: tuple[str, ...]) -> Feed:
        """Archive ``number`` of a feed (key ALL: the all feed) of ``ids`` (oldest first)
        as a document to render: built by whoever renders it, a cold build's workers
        among them, which forked before the plan and know the entries, not the logs."""
        slug, name = (self.state.slugs[key], self.catalog.names.get(key, key)) if key else (
            None, None)
        return views.archive_of(self.settings, slug, name, number,
                                map(self.releases.entry, reversed(ids)))

    def _tag_jobs(self, key: str, ids: list[str]) -> list[Job]:
        """The renders a tag needs: its feeds and its page, unless unchanged since last."""
        slug, name = self.state.slugs[key], self.catalog.names.get(key, key)
        feed = self._feed(slug, name, key)
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

    def _feed(self, slug: str | None, name: str | None, key: str | None) -> Feed:
        """The subscription document of a tag (or of all, slug None): its log's head."""
        releases, log = self.releases, self.logs[key or ALL]
        emptied = self.state.emptied.get(key, 0) if key else 0
        return views.feed_of(self.settings, slug, name,
                             map(releases.entry, log.head(releases.order_of)),
                             to_datetime(emptied), len(log.archives))
