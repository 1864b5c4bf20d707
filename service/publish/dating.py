"""Dating and embargo: when each article was published and last updated, and which
articles are out.

An article is dated by its release time, or by when the publisher first saw it (kept
in the state, so a restart keeps the date); an edit moves its ``updated``. One whose
release time is still ahead is withheld and touches nothing: its tags appear nowhere
before it is out, and the scheduler releases it at that time.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from service.catalog import released as views
from service.catalog.catalog import Catalog, assign_slugs
from service.catalog.records import Seen, Sighting
from service.catalog.state import State
from service.catalog.texts import RECENT, Texts
from service.identity import tag_key
from service.model import Entry, TagRef


@dataclass(slots=True, eq=False)
class Dated:
    """A released article as plans and sitemaps need it: its entry but the text, which
    ``Releases.entry`` adds when a page or feed is rendered."""

    id: str
    tags: tuple[str, ...]  # its brief's tag names
    published: datetime
    updated: datetime
    arrival: float  # its release, or its first sighting if that was later (epoch s)
    updated_at: int  # ``updated`` in epoch seconds (a cold pass asks five times each)
    stamp: float  # ``published`` in epoch seconds (a cold pass sorts by it four times)

    @property
    def order(self) -> tuple[float, float, str]:
        """Its place (``views.order``): newest arrival first. Made when asked, as are the
        entry's tags: kept, they were a third of a million entries' memory."""
        return views.order(self.id, self.stamp, self.arrival)


class Releases:
    """The released articles, dated, and the embargoed ones."""

    def __init__(self, catalog: Catalog, state: State, texts: Texts, base_url: str) -> None:
        self.catalog, self.state, self.texts, self.base_url = catalog, state, texts, base_url
        self.entries: dict[str, Dated] = {}  # the visible (released) articles
        self.before: dict[str, Dated] = {}  # the last refresh's ids: their old entries
        self.embargoed: dict[str, datetime] = {}  # id -> release time, still ahead
        self._refs: dict[str, TagRef] = {}  # tag key -> how entries name it
        self._seen: dict[str, Sighting] = {}  # what ``remember`` read, for refresh
        # The entries a pass made, kept until it ends: an entry is in several feeds and
        # archives. (Only these: what a cold pass would keep of each article, freed after
        # it, would stay as holes between what the process keeps.)
        self.recent = RECENT  # entries made to keep (a cold build's workers: more)
        self._made: OrderedDict[str, Entry] = OrderedDict()

    def entry(self, article_id: str) -> Entry:
        """A released article's entry, text and all, to render."""
        made = self._made.get(article_id)
        if made is None:
            dated = self.entries[article_id]
            brief = self.catalog.articles[article_id]  # the copy published, as Dated's
            made = self._made[article_id] = views.entry_of(
                brief, self.texts.text(brief), dated.published, dated.updated,
                views.tag_refs(brief, self._refs), self.base_url)
            while len(self._made) > self.recent:
                self._made.popitem(last=False)
        return made

    def order_of(self, article_id: str) -> tuple[float, float, str]:
        """A released article's place: smallest newest (``views.order``)."""
        return self.entries[article_id].order

    def updated_of(self, article_id: str) -> int:
        return self.entries[article_id].updated_at

    def let_go(self) -> None:
        """After a pass: forget what it made (the documents rendered hold theirs)."""
        self._made = OrderedDict()
        self.recent = RECENT

    def next_release(self) -> datetime | None:
        """When the next embargoed article is due, if any."""
        return min(self.embargoed.values(), default=None)

    def remember(self, changed: Iterable[str], now: float) -> None:
        """First sightings and edits into the state: they date the articles."""
        articles, when = self.catalog.articles, int(now)
        present = {i for i in changed if i in articles}
        sighted: dict[str, Sighting] = {}
        edited: list[str] = []
        for article_id, old in self.state.seen(present):
            if old.content_hash == articles[article_id].digest.hex():
                sighted[article_id] = Sighting(old.first_seen, old.changed)
            else:
                sighted[article_id] = Sighting(old.first_seen, when)
                edited.append(article_id)
        new = Sighting(when, None)  # one for all: a cold build's every article
        fresh = [i for i in present if i not in sighted]
        sighted.update(dict.fromkeys(fresh, new))
        # Written as made, not held: a cold build records every article.
        self.state.remember_articles(
            (i, Seen(sighted[i].first_seen, articles[i].digest.hex(), sighted[i].changed))
            for i in itertools.chain(edited, fresh))
        self._seen = sighted

    def due(self, now: float) -> set[str]:
        """Embargoed articles whose release time has come."""
        return {i for i, when in self.embargoed.items() if when.timestamp() <= now}

    def renamed(self, key: str) -> None:
        """A tag's display name changed: entries must name it anew."""
        self._refs.pop(key, None)
        self._made = OrderedDict()

    def refresh(self, dirty: set[str], now: float) -> set[str]:
        """Date the dirty articles anew; return the tag keys they touch.

        An article whose release time is still ahead is withheld (embargoed) and
        touches nothing: its tags appear nowhere before it is out."""
        tags: set[str] = set()
        keys: set[str] = set()  # the tags of the articles released
        # The times of the articles dated by their first sighting, one object for each
        # time: a cold build's every undated article is first seen at once.
        shared: dict[float, tuple[float, int]] = {}
        seen, self._seen = self._seen, {}
        self.before = {}
        if not dirty <= seen.keys():
            seen.update((i, Sighting(record.first_seen, record.changed)) for i, record in
                        self.state.seen({i for i in dirty
                                         if i not in seen and i in self.catalog.articles}))
        # Each entry made at once, nothing else held for it a moment: what a cold pass
        # held of each article until the end of the loop was freed in holes between them.
        for article_id in dirty:
            old = self.entries.pop(article_id, None)
            self.embargoed.pop(article_id, None)
            self._made.pop(article_id, None)
            if old is not None:
                self.before[article_id] = old
                tags.update(map(tag_key, old.tags))
            article = self.catalog.articles.get(article_id)
            if article is None:
                continue
            record = seen[article_id]
            published, updated = views.times_of(article, record)
            if article.published is None:  # dated by its sighting: shared by those seen with it
                stamps = shared.get(record.first_seen)
                if stamps is None:
                    stamp = published.timestamp()
                    stamps = shared[record.first_seen] = (stamp, int(stamp))
                stamp, whole = stamps
            else:
                stamp = published.timestamp()
                whole = int(stamp)
            if stamp > now:
                self.embargoed[article_id] = published
                continue
            keys.update(map(tag_key, article.tags))
            self.entries[article_id] = Dated(article.id, article.tags, published, updated,
                                             views.arrival(stamp, record.first_seen),
                                             whole if updated is published
                                             else int(updated.timestamp()), stamp)
        tags |= keys
        self.state.claim_slugs(assign_slugs(
            sorted(keys - self.state.slugs.keys()), self.catalog.names, self.state.slugs))
        refs = self._refs
        for key in keys - refs.keys():
            refs[key] = TagRef(self.catalog.names[key], self.state.slugs[key])
        return tags
