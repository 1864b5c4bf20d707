"""Load: readers polling with conditional GETs, and the sweep of every article page."""

from __future__ import annotations

import hashlib
import http.client
import random
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from .answers import Invalid, Snapshot, read_answer
from .client import Answer, Client, Down
from .plan import Plan
from .promises import Promises
from .server import Server
from .truth import Truth
from .violations import Violations


@dataclass
class Stats:
    """Requests as clients saw them."""

    statuses: Counter[int] = field(default_factory=Counter)
    refused: int = 0  # while the server was down (killed, restarting)
    errors: int = 0  # failed while the server was up
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies.append(seconds)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


class Readers:
    """Clients polling feeds, pages and article pages, and the answers they check."""

    def __init__(self, server: Server, truth: Truth, promises: Promises, plan: Plan,
                 violations: Violations, hot: list[str], stop: threading.Event) -> None:
        self.server, self.truth, self.promises, self.plan = server, truth, promises, plan
        self.violations, self.hot, self.stop = violations, hot, stop
        self.stats = Stats()
        self.cache: dict[tuple[str, bool], tuple[str, Snapshot]] = {}  # (url, gzip) -> ...
        self.checked: OrderedDict[str, Snapshot | str] = OrderedDict()  # body sha256 ->
        self._held: tuple[float, list[str]] = (0.0, [])
        self._lock = threading.Lock()

    # --- what to ask -----------------------------------------------------------------

    def pick(self, rng: random.Random) -> str:
        """A URL, weighted as readers poll: mostly feeds, some pages and articles."""
        roll = rng.random()
        fmt = rng.choice(("atom", "rss", "json"))
        slugs = self.promises.slug_tags
        hot = [s for s, key in list(slugs.items()) if key in self.hot]
        if roll < 0.25:
            return f"/all.{fmt}"
        if roll < 0.55 and hot:
            return f"/tags/{rng.choice(hot)}.{fmt}"
        if roll < 0.65 and slugs:
            return f"/tags/{rng.choice(list(slugs))}.{fmt}"
        if roll < 0.70:
            return "/subscriptions.opml"
        if roll < 0.75:
            return "/"
        if roll < 0.80 and slugs:
            return f"/tags/{rng.choice(list(slugs))}/"
        held = self.held_sample()
        return f"/articles/{rng.choice(held)}" if held else "/"

    def held_sample(self) -> list[str]:
        """Held ids, refreshed once a second (copying 10,000 per request would cost)."""
        now = time.monotonic()
        if now - self._held[0] > 1.0:
            self._held = (now, self.truth.held_ids())
        return self._held[1]

    # --- asking ------------------------------------------------------------------------

    def poll(self, index: int) -> None:
        """One client's loop until the run stops."""
        rng = random.Random(self.plan.seed * 1000 + index)
        client = Client(self.server, gzip_ok=index % 2 == 0)
        try:
            while not self.stop.is_set():
                self.fetch(client, self.pick(rng))
        finally:
            client.close()

    def fetch(self, client: Client, url: str) -> int | None:
        """One conditional GET, timed, checked against every promise it touches."""
        cached = self.cache.get((url, client.gzip_ok))
        asked, clock = time.time(), time.perf_counter()
        try:
            answer = client.get(url, cached[0] if cached else None)
        except Down:
            with self.stats.lock:
                self.stats.refused += 1
            self.stop.wait(0.2)
            return None
        except Invalid as exc:
            self.violations.report("invalid document", f"{url} gzip", f"{url}: {exc}")
            return None
        except (OSError, http.client.HTTPException) as exc:
            with self.stats.lock:
                self.stats.errors += 1
            self.violations.report("request failed while up", f"{url} {type(exc).__name__}",
                                   f"{url}: {exc!r}")
            return None
        answered = time.time()
        self.stats.answered(answer.status, time.perf_counter() - clock)
        snapshot = self._snapshot(url, answer, cached, client.gzip_ok)
        self._check(url, answer.status, snapshot, asked, answered)
        return answer.status

    def _snapshot(self, url: str, answer: Answer, cached: tuple[str, Snapshot] | None,
                  gzip_ok: bool) -> Snapshot | None:
        if answer.status == 304:
            if cached is None:
                self.violations.report("304 without a validator", url, f"{url}: 304 to an "
                                       "unconditional GET")
                return None
            return cached[1]
        if answer.status != 200:
            return None
        snapshot = self.validate(url, answer.body)
        if snapshot is not None and answer.etag:
            self.cache[(url, gzip_ok)] = (answer.etag, snapshot)
        return snapshot

    def validate(self, url: str, body: bytes) -> Snapshot | None:
        """Promise 1: a 200 is a valid document. Each distinct body is parsed once."""
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            known = self.checked.get(digest)
        if known is None:
            try:
                known = read_answer(url, body)
            except Invalid as exc:
                known = str(exc)
            with self._lock:
                self.checked[digest] = known
                if len(self.checked) > 4000:
                    self.checked.popitem(last=False)
        if isinstance(known, str):
            self.violations.report("invalid document", f"{url} {digest}", f"{url}: {known}")
            return None
        return known

    def _check(self, url: str, status: int, snapshot: Snapshot | None, asked: float,
               answered: float) -> None:
        if status >= 500:
            self.violations.report("5xx", f"{url} {status}", f"{url} answered {status}")
        kind, name = route(url)
        if kind == "article":
            self.promises.article(name, status, snapshot, asked, answered)
            return
        if kind == "archive":
            if status not in (200, 304, 404):
                self.violations.report("unexpected status", f"{url} {status}",
                                       f"{url}: {status}")
            self.promises.archive(url, status, snapshot, asked, answered)
            return
        if status == 404:
            if kind != "tag feed" or self.promises.tag_of(name) is not None:
                self.violations.report("published file missing", url, f"{url} is 404")
            return
        if status not in (200, 304):
            self.violations.report("unexpected status", f"{url} {status}", f"{url}: {status}")
        if snapshot is None:
            return
        if kind == "opml":
            self.promises.opml(snapshot)
        elif kind in ("all feed", "tag feed"):
            self.promises.feed(url, name or None, snapshot, asked, answered)


def route(url: str) -> tuple[str, str]:
    """What kind of URL it is, and its name (tag slug, article id)."""
    if url.startswith("/all."):
        return "all feed", ""
    if url.startswith("/articles/"):
        return "article", url.removeprefix("/articles/")
    if url.startswith("/tags/") and not url.endswith("/"):
        return "tag feed", url.removeprefix("/tags/").rpartition(".")[0]
    if url.startswith("/archive/"):
        return "archive", url
    if url == "/subscriptions.opml":
        return "opml", ""
    return "page", ""


# --- the sweep: every held article's page, over and over ------------------------------

class Sweep:
    """Asks for every settled article's page in turn (and recently deleted ones'), so
    each of 10,000 articles is checked every minute or two, not just a sample."""

    def __init__(self, readers: Readers, truth: Truth, plan: Plan,
                 stop: threading.Event) -> None:
        self.readers, self.truth, self.plan, self.stop = readers, truth, plan, stop
        self.rounds = 0

    def run(self, index: int, of: int) -> None:
        client = Client(self.readers.server, gzip_ok=False)
        try:
            while not self.stop.is_set():
                batch = self.batch(index, of)
                if not batch:  # nothing has settled yet
                    self.stop.wait(1.0)
                    continue
                for article_id in batch:
                    if self.stop.is_set():
                        break
                    self.readers.fetch(client, f"/articles/{article_id}")
                else:
                    self.rounds += index == 0
        finally:
            client.close()

    def batch(self, index: int, of: int) -> list[str]:
        """This sweeper's share of the settled and the recently deleted articles."""
        now = time.time()
        with self.truth.lock:
            ids = [k.id for k in self.truth.articles.values()
                   if k.settled(now, self.readers.promises.deadlines)
                   or (k.gone is not None and now - 300 < k.gone <= now - self.plan.settle)]
        ids.sort()
        return ids[index::of]
