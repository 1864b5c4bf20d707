"""Promise 2 as an RFC 5005 consumer sees it: every settled article is in its feed's
history, the subscription document or one of the archives its prev-archive links lead
to; and (promise 4) no archive keeps an article deleted for longer than a change may
take to show.

Archives are frozen: once written, one only ever loses entries, when a deletion
rewrites it. So each archive's body is kept here by URL with its ETag (the readers'
cache), and asked for again only with If-None-Match:

- every new answer of a subscription document is audited against the archives as last
  seen, fetching only those not seen yet (a document links one more when its oldest
  arrivals freeze); an article found nowhere is looked for once more along the whole
  chain, every archive revalidated, before it is reported missing;
- archives that held an article are revalidated once its deletion is due (its
  ``deadlines.change``), and all of them in turn, at ``RATE`` requests a second, so a
  wrong rewrite is found too;
- the final audit walks every feed's chain in every format, each archive revalidated.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from .answers import Snapshot
from .client import Client
from .plan import Plan
from .promises import Promises, Seen, archive_place, iso
from .readers import Readers
from .server import Server
from .truth import Truth
from .violations import Violations

RATE = 40.0  # archive revalidations a second in the background (readers ask ~1000/s)
BURST = 400.0  # revalidations one audit round may spend at most
AGAIN = 30.0  # s before a document's whole chain is walked again to confirm a miss
WALKERS = 8  # connections of the final audit


class Down(Exception):
    """The server went down during a walk: try again in a later round."""


class History:
    """Walks the prev-archive chains of the feeds the readers last saw."""

    def __init__(self, promises: Promises, readers: Readers, truth: Truth, plan: Plan,
                 violations: Violations, server: Server) -> None:
        self.promises, self.readers, self.truth, self.plan = promises, readers, truth, plan
        self.violations, self.server = violations, server
        self.tokens, self.last = BURST, time.monotonic()
        self.rotation: deque[str] = deque()  # archives to revalidate in turn
        self.queue: deque[str] = deque()  # archives that held an article now due gone
        self.deletions: set[tuple[str, float]] = set()  # (id, gone) queued already
        self.confirmed: dict[str, float] = {}  # document URL -> last whole-chain walk
        self.requests = self.walks = 0
        self.longest = 0.0  # s, the longest audit round during the soak
        self._local = threading.local()
        self._lock = threading.Lock()

    # --- asking ------------------------------------------------------------------------

    def client(self) -> Client:
        found = getattr(self._local, "client", None)
        if found is None:
            found = self._local.client = Client(self.server, gzip_ok=False)
        return found

    def close(self) -> None:
        found = getattr(self._local, "client", None)
        if found is not None:
            found.close()

    def fetch(self, url: str) -> Seen | None:
        """Ask for one archive (conditionally, if seen before); what it holds now, or
        None if it is missing or invalid (the checks have said so)."""
        before = time.time()
        status = self.readers.fetch(self.client(), url)
        with self._lock:
            self.requests += 1
        if status is None:
            raise Down(url)
        seen = self.promises.archives.get(url)
        if status not in (200, 304) or seen is None or seen.asked < before:
            return None
        return seen

    # --- the audit -----------------------------------------------------------------------

    def run(self, every: float, stop: threading.Event) -> None:
        """An audit round every ``every`` s, on its own thread (a walk may take a while:
        the log scan and the fault phase must not wait for it), until ``stop``."""
        try:
            while not stop.wait(every):
                began = time.monotonic()
                self.audit()
                self.longest = max(self.longest, time.monotonic() - began)
        finally:
            self.close()

    def audit(self, final: bool = False) -> int:
        """Each feed answer not audited yet (every feed, if ``final``), then the
        background revalidations. Returns the feeds audited."""
        with self.promises._lock:
            pending = [(url, seen) for url, seen in self.promises.latest.items()
                       if final or not seen.audited]
            for _, seen in pending:
                seen.audited = True
        if final:
            since = time.time()
            with ThreadPoolExecutor(WALKERS) as pool:
                done = list(pool.map(lambda job: self._final(job[0], job[1], since), pending))
            return sum(done)
        audited = 0
        for url, seen in pending:
            try:
                self.document(url, seen)
                audited += 1
            except Down:
                seen.audited = False  # asked again once the server is back
                return audited
        with contextlib.suppress(Down):  # the rest in a later round
            self.revalidate()
        return audited

    def _final(self, url: str, seen: Seen, since: float) -> bool:
        try:
            self.document(url, seen, fresh=since)
            return True
        except Down:
            self.violations.report("final audit incomplete", url,
                                   f"{url}: the server went down during the final audit")
            return False

    def document(self, url: str, seen: Seen, fresh: float | None = None) -> None:
        """Promise 2 on one subscription document: every article settled when it was
        asked for is in it, or in an archive its chain leads to. ``fresh``: every
        archive is revalidated unless answered since then (the final audit)."""
        need = self.need(seen)
        if not need and fresh is None:
            return
        held, whole = self.chain(seen.snapshot, fresh)
        missing = [i for i in need if i not in held]
        if missing and fresh is None:
            now = time.time()
            if now - self.confirmed.get(url, 0.0) < AGAIN:
                seen.audited = False  # confirmed at a later round
                return
            self.confirmed[url] = now
            held, whole = self.chain(seen.snapshot, now)
            missing = [i for i in need if i not in held]
        if not whole:
            return  # a missing archive or a broken link: reported as such
        deadlines = self.promises.deadlines
        for article_id in missing:
            known = self.truth.get(article_id)
            if known is None or not known.settled(seen.asked, deadlines):
                continue  # gone (or back) while the chain was walked
            self.violations.report(
                "missing from a feed's history", f"{url} {article_id}",
                f"{url} lacks {article_id} ({known.title!r}, published "
                f"{iso(known.earliest())}), and so do the archives its prev-archive "
                f"links lead to ({seen.snapshot.prev_archive or 'none'} down to 1, each "
                f"asked again); in seeds/ for {seen.asked - (known.since or 0):.1f} s")

    def need(self, seen: Seen) -> list[str]:
        """Articles settled when ``seen`` was asked for that it does not show."""
        shown = {item.id for item in seen.snapshot.items}
        deadlines = self.promises.deadlines
        found = []
        for article_id in self.truth.held_ids(seen.tag):
            if article_id in shown:
                continue
            known = self.truth.get(article_id)
            if known is not None and known.settled(seen.asked, deadlines):
                found.append(article_id)
        return found

    def chain(self, head: Snapshot, fresh: float | None) -> tuple[set[str], bool]:
        """The ids of the archives ``head`` leads to, and whether the walk reached
        archive 1. An archive is asked for if not seen yet, or (``fresh``) not answered
        since then."""
        with self._lock:
            self.walks += 1
        held: set[str] = set()
        url, number = head.prev_archive, None
        while url is not None:
            place = archive_place(url)
            if place is None or (number is not None and place[1] >= number):
                return held, False  # a broken link: reported by its document's check
            number = place[1]
            seen = self.promises.archives.get(url)
            if seen is None or (fresh is not None and seen.asked < fresh):
                seen = self.fetch(url)
                if seen is None:
                    return held, False
            held.update(item.id for item in seen.snapshot.items)
            url = seen.snapshot.prev_archive
        return held, number in (None, 1)

    # --- in the background -----------------------------------------------------------

    def revalidate(self) -> None:
        """Archives that held an article due gone first, then every archive in turn,
        as far as the budget goes."""
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + RATE * (now - self.last))
        self.last = now
        self.due_deletions()
        while self.tokens >= 1:
            if self.queue:
                url = self.queue.popleft()
            else:
                if not self.rotation:
                    self.rotation.extend(sorted(self.promises.archives))
                    if not self.rotation:
                        return
                url = self.rotation.popleft()
            self.tokens -= 1
            self.fetch(url)

    def due_deletions(self) -> None:
        """Queue the archives last seen holding an article whose deletion is now due."""
        now, deadlines = time.time(), self.promises.deadlines
        with self.truth.lock:
            due = [(k.id, k.gone) for k in self.truth.articles.values()
                   if k.since is None and k.gone is not None and not k.doubts
                   and (k.id, k.gone) not in self.deletions
                   and deadlines.change(k.gone) <= now]
        for article_id, gone in due:
            self.deletions.add((article_id, gone))
            self.queue.extend(sorted(self.promises.holders.get(article_id, ())))
