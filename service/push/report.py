"""What the hub tells the web about itself: ``feeds/websub.json``, rewritten every few
seconds while anything changes, for /status, its page's chart, and /metrics.

The web processes are stateless and read no database, so the hub writes its figures
where they read the publisher's (status.json, beside it): subscriptions per feed,
verifications and pushes waiting, pushes retried, delivered, failed, given up and
ended by 410, how long a push took from its feed's change to its delivery, and one
row a minute of the last hour for the chart. The counters carry across restarts:
they are read back from the file at start, as Prometheus counters should be.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service import layout
from service.publish.status import Histogram
from service.push.store import Store, StoreError
from service.push.topics import Topics

log = logging.getLogger(__name__)

VERSION = 1
EVERY = 2.0  # seconds between two writes while figures change
QUIET_EVERY = 30.0  # seconds between two writes when nothing changed (gauges age)
MINUTES = 60  # rows of the chart
COUNTERS = ("delivered", "failed", "given_up", "gone", "verified", "unconfirmed", "denied")


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


class Report:
    """The hub's counters, and the thread that writes them with the store's counts."""

    def __init__(self, feeds: Path, store: Store, topics: Topics,
                 clock: Callable[[], float] = time.time) -> None:
        self.path, self.store, self.topics, self.clock = (feeds / layout.HUB_STATUS, store,
                                                          topics, clock)
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.latency = Histogram()
        self.minutes: list[dict[str, Any]] = []
        self._changed = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="websub-report", daemon=True)
        self._load()

    # --- what happened (from the hub's threads) ---------------------------------------

    def count(self, what: str, latency: float | None = None) -> None:
        """One more ``what`` (one of COUNTERS); a delivery with its latency in seconds."""
        with self._lock:
            self.counts[what] += 1
            if latency is not None:
                self.latency.observe(max(latency, 0.0))
            row = self._minute()
            row[what] = row.get(what, 0) + 1
            self._changed = True

    def _minute(self) -> dict[str, Any]:
        at = _iso(self.clock() // 60 * 60)
        if not self.minutes or self.minutes[-1]["at"] != at:
            self.minutes.append({"at": at})
            del self.minutes[:-MINUTES]
        return self.minutes[-1]

    # --- the file --------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        self.write()

    def _run(self) -> None:
        last = 0.0
        while not self._stop.wait(EVERY):
            if self._changed or self.clock() - last >= QUIET_EVERY:
                self.write()
                last = self.clock()

    def write(self) -> None:
        """The figures now, written atomically (a failure is logged: it is news only)."""
        try:
            figures = self.figures()
            data = (json.dumps(figures, indent=1, sort_keys=True) + "\n").encode()
            temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            temp.write_bytes(data)
            os.replace(temp, self.path)
        except (OSError, StoreError) as exc:
            log.warning("websub: cannot write %s (%s)", self.path, exc)

    def figures(self) -> dict[str, Any]:
        """Everything websub.json holds."""
        now = self.clock()
        files = {url: feed.file for url, feed in (self.topics.feeds() or {}).items()}
        by_feed: dict[str, int] = {}
        for topic, count in self.store.rows(
                "SELECT topic, count(*) FROM subscriptions WHERE expires > ? GROUP BY topic",
                now):
            name = files.get(topic, topic)
            by_feed[name] = by_feed.get(name, 0) + int(count)
        (pending, retrying), = self.store.rows(
            "SELECT count(*), coalesce(sum(attempts > 0), 0) FROM outbox")
        with self._lock:
            self._changed = False
            row = self._minute()
            row["subscriptions"] = sum(by_feed.values())
            return {"version": VERSION, "updated": _iso(now),
                    "subscriptions": sum(by_feed.values()), "by_feed": by_feed,
                    "verifications_pending": self.store.pending(),
                    "pushes_pending": int(pending), "retries_pending": int(retrying),
                    "counts": dict(self.counts), "latency_seconds": self.latency.to_json(),
                    "minutes": [dict(row) for row in self.minutes]}

    def _load(self) -> None:
        """The counters of the last run, if its file is there and whole."""
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            old = json.loads(self.path.read_bytes())
            counts = old["counts"]
            self.counts.update({key: int(counts[key]) for key in COUNTERS if key in counts})
            self.latency = Histogram.from_json(old.get("latency_seconds"))
            self.minutes = [row for row in old.get("minutes", []) if isinstance(row, dict)
                            and isinstance(row.get("at"), str)][-MINUTES:]
