"""The promises the README makes, checked on every answer against the truth."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .answers import Item, Snapshot
from .plan import Plan
from .truth import Truth
from .violations import Violations

if TYPE_CHECKING:
    from .faults import Deadlines


@dataclass
class Seen:
    """The latest answer for one feed URL, for the window audit."""

    snapshot: Snapshot
    asked: float  # when the request was sent: the answer was current after this
    tag: str | None  # tag key; None for the all feed
    audited: bool = False


class Promises:
    """Checks answers against the truth; remembers the latest of each feed."""

    def __init__(self, truth: Truth, plan: Plan, violations: Violations,
                 deadlines: Deadlines) -> None:
        self.truth, self.plan, self.violations = truth, plan, violations
        self.deadlines = deadlines  # by when a change must show: later around a fault
        self.slug_tags: dict[str, str] = {}  # slug -> tag key, from the OPML
        self.latest: dict[str, Seen] = {}
        self.pages_checked: set[str] = set()  # article ids whose page was asked for
        self._lock = threading.Lock()

    def tag_of(self, slug: str) -> str | None:
        return self.slug_tags.get(slug)

    def opml(self, snapshot: Snapshot) -> None:
        key = self.truth.reader.tag_key
        with self._lock:
            for slug, name in snapshot.tags:
                self.slug_tags.setdefault(slug, key(name))

    def feed(self, url: str, slug: str | None, snapshot: Snapshot, asked: float,
             answered: float) -> None:
        """Promises 3 and 4 on one feed answer (200 or 304), at once."""
        tag = None if slug is None else self.tag_of(slug)
        previous = None
        for item in snapshot.items:
            self._entry(url, item, tag if slug else None, slug, asked, answered)
            key = (-item.published, item.id)
            if previous is not None and key < previous:
                self.violations.report("feed order", url, f"{url}: {item.id} is out of order "
                                       "(newest published first, ties by id)")
            previous = key
        if slug is None or tag is not None:
            with self._lock:
                self.latest[url] = Seen(snapshot, asked, tag)

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

    def audit(self) -> int:
        """Promise 2 on the latest answer of every feed: every settled article whose
        place is inside the feed's newest-N window is in it. Returns feeds audited."""
        with self._lock:
            pending = [(url, seen) for url, seen in self.latest.items() if not seen.audited]
            for _, seen in pending:
                seen.audited = True
        for url, seen in pending:
            self._audit(url, seen)
        return len(pending)

    def _audit(self, url: str, seen: Seen) -> None:
        items = seen.snapshot.items
        shown = {item.id for item in items}
        full = len(items) >= self.plan.entries
        bound = (-items[-1].published, items[-1].id) if full else None
        for article_id in self.truth.held_ids(seen.tag):
            known = self.truth.get(article_id)
            if known is None or article_id in shown \
                    or not known.settled(seen.asked, self.deadlines):
                continue
            if bound is None or (-known.earliest(), article_id) < bound:
                self.violations.report(
                    "missing from a feed", f"{url} {article_id}",
                    f"{url} lacks {article_id} ({known.title!r}, published "
                    f"{iso(known.earliest())}), in seeds/ for "
                    f"{seen.asked - (known.since or 0):.1f} s; the window ends at "
                    f"{iso(-bound[0]) if bound else 'none (not full)'}")


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
