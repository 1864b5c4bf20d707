"""The promises the README makes, checked on every answer against the truth.

Feeds list entries newest arrival first: an article arrives at max(its release time,
when the publisher first saw it); an edited article that lies in an archive arrives
again in the subscription document at its ``updated``. The publisher's first sighting
is not known here, only bounded, so the order is checked exactly where the bounds
decide it, never on a guess:

- no earlier than ``arrived_after``: its ``published``, or a file first holding it less
  FIRST_SEEN_SLACK (a pass may take its time stamp that long before it reads a file);
- no later than ``arrived_by``: its ``published``, its ``updated`` (a re-announced
  edit), or the first answer of any kind that showed it (the publisher had seen it).

An entry listed after another whose arrival is bounded above by less than its own lower
bound is out of order (a back-dated article dropped a minute after an older one was
shown must be above it). RSS says no ``updated``, so its documents' order is not
checked. No fault of this soak loses the state; one that set it aside would date every
article anew, so the log line saying so forgets every bound (``forget_arrivals``).
Arrival ties are broken by ``published`` and id, which the bounds cannot see: ties are
never judged. Which document an entry is in (subscription or archive) is not an order
check either: a re-announced edit is in both.
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .answers import Item, Snapshot
from .plan import Plan
from .truth import FIRST_SEEN_SLACK, Known, Truth
from .violations import Violations

if TYPE_CHECKING:
    from .faults import Deadlines


@dataclass
class Seen:
    """The latest answer for one feed URL (or one archive), for the history audit."""

    snapshot: Snapshot
    asked: float  # when the request was sent: the answer was current after this
    tag: str | None  # tag key; None for the all feed
    audited: bool = False


_ARCHIVE = re.compile(r"^/archive/(?:all|tags/([^/]+))/(\d+)\.(atom|rss|json)$")
_FEED = re.compile(r"^/(?:all|tags/([^/]+))\.(atom|rss|json)$")


def archive_place(path: str) -> tuple[str | None, int, str] | None:
    """An archive URL's feed (tag slug; None: the all feed), number and format."""
    found = _ARCHIVE.match(path)
    if found is None:
        return None
    slug = urllib.parse.unquote(found[1]) if found[1] is not None else None
    return slug, int(found[2]), found[3]


def feed_place(path: str) -> tuple[str | None, str] | None:
    """A subscription document's feed (tag slug; None: the all feed) and format."""
    found = _FEED.match(path)
    if found is None:
        return None
    return (urllib.parse.unquote(found[1]) if found[1] is not None else None), found[2]


class Promises:
    """Checks answers against the truth; remembers the latest of each feed, and of each
    archive document (for the history audit, ``history.History``)."""

    def __init__(self, truth: Truth, plan: Plan, violations: Violations,
                 deadlines: Deadlines) -> None:
        self.truth, self.plan, self.violations = truth, plan, violations
        self.deadlines = deadlines  # by when a change must show: later around a fault
        self.slug_tags: dict[str, str] = {}  # slug -> tag key, from the OPML
        self.latest: dict[str, Seen] = {}
        self.archives: dict[str, Seen] = {}  # archive path -> its latest 200 (or 304)
        self.holders: dict[str, set[str]] = {}  # article id -> archive paths holding it
        self.pages_checked: set[str] = set()  # article ids whose page was asked for
        self._lock = threading.Lock()

    def forget_arrivals(self) -> None:
        """The state was set aside: the publisher dates its first sightings anew, so no
        earlier answer bounds an article's arrival any more."""
        with self.truth.lock:
            for known in self.truth.articles.values():
                known.first_shown = None

    def tag_of(self, slug: str) -> str | None:
        return self.slug_tags.get(slug)

    def opml(self, snapshot: Snapshot) -> None:
        key = self.truth.reader.tag_key
        with self._lock:
            for slug, name in snapshot.tags:
                self.slug_tags.setdefault(slug, key(name))

    def feed(self, url: str, slug: str | None, snapshot: Snapshot, asked: float,
             answered: float) -> None:
        """Promises 3 and 4 on one subscription document (200 or 304), at once; its
        size, its RFC 5005 links, and what its order can be held to."""
        tag = None if slug is None else self.tag_of(slug)
        for item in snapshot.items:
            self._entry(url, item, tag if slug else None, slug, asked, answered)
        self._document(url, snapshot)
        if len(snapshot.items) > self.plan.entries:
            self.violations.report("subscription document too long", url,
                                   f"{url} holds {len(snapshot.items)} entries, at most "
                                   f"{self.plan.entries} (--entries)")
        fmt = url.rpartition(".")[2]
        if snapshot.prev_archive is not None:
            place = archive_place(snapshot.prev_archive)
            if place is None or place[0] != slug or place[2] != fmt:
                self.violations.report("bad prev-archive link", url,
                                       f"{url} links {snapshot.prev_archive} as its "
                                       "prev-archive: not an archive of this feed and format")
            elif fmt != "json" and snapshot.history & {"archive", "complete"}:
                self.violations.report("bad fh element", url,
                                       f"{url} has archives yet carries fh:"
                                       f"{'/fh:'.join(sorted(snapshot.history))}")
        elif fmt != "json" and "complete" not in snapshot.history:
            self.violations.report("bad fh element", url,
                                   f"{url} links no archive and lacks <fh:complete/>")
        if slug is None or tag is not None:
            with self._lock:
                self.latest[url] = Seen(snapshot, asked, tag)

    def archive(self, url: str, status: int, snapshot: Snapshot | None, asked: float,
                answered: float) -> None:
        """An archive document (a prev-archive link led here): valid, of its feed, and
        frozen: it may only lose entries (a deletion rewrites it), never gain one."""
        place = archive_place(url)
        if place is None:
            self.violations.report("published file missing", url, f"{url}: not an archive "
                                   "URL, yet linked as one")
            return
        slug, number, fmt = place
        if status == 404:
            self.violations.report("linked archive missing", url, f"{url} is 404, and a "
                                   "document links it as its prev-archive")
            return
        if snapshot is None:
            return
        tag = None if slug is None else self.tag_of(slug)
        for item in snapshot.items:
            self._entry(url, item, tag, slug, asked, answered)
        self._document(url, snapshot)
        size = min(self.plan.archive_size, self.plan.entries)
        if len(snapshot.items) > size:
            self.violations.report("archive too long", url, f"{url} holds "
                                   f"{len(snapshot.items)} entries, at most {size}")
        if fmt != "json" and "archive" not in snapshot.history:
            self.violations.report("bad fh element", url, f"{url} lacks <fh:archive/>")
        want = (f"/archive/{'all' if slug is None else 'tags/' + slug}/{number - 1}.{fmt}"
                if number > 1 else None)
        if (urllib.parse.unquote(snapshot.prev_archive or "") or None) != want:
            self.violations.report("bad prev-archive link", url,
                                   f"{url} links {snapshot.prev_archive} as its "
                                   f"prev-archive, not {want}")
        ids = {item.id for item in snapshot.items}
        with self._lock:
            old = self.archives.get(url)
            self.archives[url] = Seen(snapshot, asked, tag)
            before = {item.id for item in old.snapshot.items} if old else set()
            for article_id in before - ids:
                self.holders.get(article_id, set()).discard(url)
            for article_id in ids - before:
                self.holders.setdefault(article_id, set()).add(url)
        gained = sorted(ids - before) if old is not None else []
        if gained:
            self.violations.report(
                "frozen archive gained entries", url,
                f"{url} now holds {len(gained)} entries it did not hold at "
                f"{iso(old.asked) if old else ''}, e.g. {gained[0]}: an archive only ever "
                "loses entries, to deletions")

    def _document(self, url: str, snapshot: Snapshot) -> None:
        """Within one document: no id twice, and (Atom, JSON Feed) newest arrival first
        as far as the truth can tell (see the module's docstring)."""
        seen: set[str] = set()
        lowest: tuple[float, Item] | None = None  # the earliest latest-arrival so far
        for item in snapshot.items:
            if item.id in seen:
                self.violations.report("id twice in a document", f"{url} {item.id}",
                                       f"{url} lists {item.id} twice")
            seen.add(item.id)
            known = self.truth.get(item.id)
            if known is None:
                continue
            if lowest is not None and (floor := arrived_after(known, item)) > lowest[0]:
                self.violations.report(
                    "arrival order", f"{url} {item.id}",
                    f"{url} lists {item.id} ({known.title!r}, published "
                    f"{iso(item.published)}, first in a seed file {iso(known.first_held)}, "
                    f"so arrived after {iso(floor)}) after {lowest[1].id} (published "
                    f"{iso(lowest[1].published)}, updated {iso(lowest[1].updated or 0)}, "
                    f"arrived by {iso(lowest[0])}): newest arrival first")
            ceiling = arrived_by(known, item)
            if lowest is None or ceiling < lowest[0]:
                lowest = (ceiling, item)

    def _entry(self, url: str, item: Item, tag: str | None, slug: str | None,
               asked: float, answered: float) -> None:
        known = self.truth.get(item.id)
        report = self.violations.report
        if known is None:
            report("unknown id", item.id, f"{url} shows {item.id} ({item.title!r}), an id "
                   "no seed file ever held: an id changed, or a phantom article")
            return
        if not known.whole:
            report("half-written file published", item.id, f"{url} shows {item.id} "
                   f"({known.title!r}), held only by a file while it was being written")
        if known.first_shown is None or answered < known.first_shown:
            known.first_shown = answered
        if known.published is None:
            known.published = item.published
        elif known.published != item.published:
            report("published changed", item.id, f"{url}: {item.id} ({known.title!r}) "
                   f"published {iso(item.published)}, earlier {iso(known.published)}")
        if known.release is not None and item.published != int(known.release):
            report("published is not the release time", item.id,
                   f"{url}: {item.id} published {iso(item.published)}, released "
                   f"{iso(known.release)}")
        if item.published > answered + 1:
            report("shown before its release time", item.id,
                   f"{url} shows {item.id} ({known.title!r}) due {iso(item.published)}")
        gone = known.gone
        if known.since is None and gone is not None and self.deadlines.change(gone) <= asked \
                and not known.doubts:
            report("deleted article still shown", f"{url} {item.id}",
                   f"{url} shows {item.id} ({known.title!r}), in no seed file for "
                   f"{asked - gone:.1f} s")
        if slug is not None and tag is not None and tag not in known.tags:
            report("article in a tag feed it does not carry", f"{url} {item.id}",
                   f"{url} shows {item.id} ({known.title!r}), tags {sorted(known.tags)}")

    def article(self, article_id: str, status: int, snapshot: Snapshot | None,
                asked: float, answered: float) -> None:
        """Promise 2 on an article page: served while held, gone once deleted, never
        before its release time."""
        known = self.truth.get(article_id)
        if known is None:
            return
        self.pages_checked.add(article_id)
        if status == 200 and (known.first_shown is None or answered < known.first_shown):
            known.first_shown = answered
        if status == 200 and known.release is not None and known.release > answered + 1:
            self.violations.report("shown before its release time", article_id,
                                   f"/articles/{article_id} ({known.title!r}) is served, "
                                   f"due {iso(known.release)}")
        if status == 404 and known.settled(asked, self.deadlines):
            self.violations.report(
                "article page missing", article_id,
                f"/articles/{article_id} ({known.title!r}) is 404, in seeds/ for "
                f"{asked - (known.since or 0):.1f} s")
        if status == 200 and known.since is None and known.gone is not None \
                and self.deadlines.change(known.gone) <= asked and not known.doubts:
            self.violations.report(
                "deleted article page still served", article_id,
                f"/articles/{article_id} ({known.title!r}) is 200, in no seed file for "
                f"{asked - known.gone:.1f} s")
        if status == 200 and snapshot is not None and snapshot.published is not None:
            if known.published is None:
                known.published = snapshot.published
            elif known.published != snapshot.published:
                self.violations.report(
                    "published changed", article_id, f"/articles/{article_id} published "
                    f"{iso(snapshot.published)}, earlier {iso(known.published)}")


def arrived_by(known: Known, item: Item) -> float:
    """The latest the feed's order may place ``item``: its arrival, max(published, first
    seen), is by the first answer that showed it (the publisher saw it before that); an
    edited article the log re-announces arrives again at its ``updated``. Infinite when
    the document does not say ``updated`` (RSS)."""
    if item.updated is None or known.first_shown is None:
        return float("inf")
    return max(item.published, item.updated, known.first_shown)


def arrived_after(known: Known, item: Item) -> float:
    """The earliest its arrival can be: its release, or its first sighting, which is at
    most FIRST_SEEN_SLACK (and the second it truncates) before a file first held it."""
    return max(item.published, known.first_held - FIRST_SEEN_SLACK - 1)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
