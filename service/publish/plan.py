"""Render planning: which files a pass must render, given what changed.

Each feed and tag page remembers the feed it was last rendered from, so a pass
renders only what differs: a change to one article re-renders its page, its tags'
feeds and pages, and the front files (the all feed, index, OPML), nothing else.
The plan is a list of jobs, rendered here or by forked workers (``fanout``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from service import layout
from service.catalog import released as views
from service.catalog.catalog import Catalog
from service.catalog.state import State, to_datetime
from service.config import Settings
from service.model import Feed, TagSummary
from service.publish.dating import Releases
from service.publish.fanout import Job

# Jobs: ("article", id), ("feed", feed), ("tag_page", feed, count), ("front", rows, all feed).
# What each kind of render job costs, in article pages (measured on the 100,000-article
# corpus: a page 0.1 ms, a tag's feeds in three formats with .gz 15 ms, a tag page 3 ms,
# the front files 50 ms): a cold build's workers get batches of equal cost.
JOB_WEIGHT = {"article": 1, "tag_page": 30, "feed": 150, "front": 500}


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

    def plan(self, dirty: set[str], tags: set[str], now: float) -> Plan:
        """Article pages, tag feeds and pages, the front files: in that order."""
        entries = self.releases.entries
        jobs: list[Job] = []
        removals: list[str] = []
        for article_id in sorted(dirty):
            if article_id in entries:
                jobs.append(("article", article_id))
            else:
                removals.append(layout.article_file(article_id))
        for key in sorted(tags & self.state.slugs.keys()):
            ids = [i for i in self.catalog.tag_ids.get(key, ()) if i in entries]
            self._mark_emptied(key, bool(ids), now)
            jobs.extend(self._tag_jobs(key, ids))
        all_feed = self._feed(None, None, self._all_candidates(dirty), None)
        if self.rendered.feeds.get(None) != all_feed or tags:
            jobs.append(("front", tuple(self._index_rows()), all_feed))
            self.rendered.feeds[None] = all_feed
        return Plan(jobs, removals)

    def orphans(self, published: Iterable[str]) -> list[str]:
        """Files no article or tag accounts for (articles deleted while the publisher
        was down, a lost state), removed after the first pass."""
        wanted = {layout.article_file(i) for i in self.releases.entries}
        for slug in self.state.slugs.values():
            wanted.add(layout.tag_page_file(slug))
            wanted.update(layout.feed_file(slug, fmt) for fmt in layout.FORMATS)
        return [path for path in published
                if path.startswith(("articles/", "tags/")) and path not in wanted]

    def _all_candidates(self, dirty: set[str]) -> Iterable[str]:
        """The ids that can be in the all feed's window: the last window and the dirty
        entries, unless an entry left the window (then all of them). This keeps a pass
        that adds one file from sorting 100,000 entries."""
        entries = self.releases.entries
        last = self.rendered.feeds.get(None)
        if last is None or any(e.id not in entries for e in last.entries):
            return entries.keys()
        return {e.id for e in last.entries} | {i for i in dirty if i in entries}

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
        releases = self.releases
        window = heapq.nsmallest(self.settings.entries, ids,
                                 key=releases.order_keys.__getitem__)
        emptied = self.state.emptied.get(key, 0) if key else 0
        return views.feed_of(self.settings, slug, name, (releases.entries[i] for i in window),
                             to_datetime(emptied))
