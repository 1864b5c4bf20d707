"""What each pass did, for people and machines: the pass report, the history of recent
passes and the cumulative durations, written to feeds/status.json.

The web side serves /status and /metrics from that file, so it needs no state of the
publisher; history and counters are read back at start, so a restart resets neither.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from service.seed.problems import Problem, shown

HISTORY = 50  # publish passes kept in status.json, for the status page's chart
RETRY_FIRST, RETRY_MAX = 1.0, 60.0  # seconds before retrying a failed pass: doubling, capped


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


class PassFailed(Exception):
    """A publish pass did not complete; the published site is as it was before it."""


@dataclass(frozen=True)
class Failure:
    """Passes failing in a row: since when, how often, the last error. A failed pass is
    retried on its own, sooner at first and then at most every ``RETRY_MAX`` seconds,
    so a full disk or a locked state heals by itself once the cause is gone."""

    since: float  # epoch seconds of the first failed attempt
    last: float  # epoch seconds of the latest one
    attempts: int
    error: str  # one line

    def retry_in(self) -> float:
        return min(RETRY_MAX, RETRY_FIRST * 2 ** min(self.attempts - 1, 16))

    def to_json(self) -> dict[str, object]:
        return {"since": _iso(self.since), "attempts": self.attempts, "error": self.error,
                "next_retry": _iso(self.last + self.retry_in())}


class StatusLog:
    """The passes so far: the last ``HISTORY`` of them and every duration, as status.json.

    It keeps the last successful pass's status, so that while passes fail status.json
    still describes the site as published, with the failure beside it. A pass is added
    only once its status.json is on disk (``record``, then ``committed``)."""

    def __init__(self, path: Path) -> None:
        previous = _load_status(path)
        self.history: list[dict[str, object]] = previous.get("history", [])[-HISTORY:]
        self.durations = Histogram.from_json(previous.get("publish_seconds"))
        self.last: dict[str, Any] = {key: previous[key] for key in (
            "last_pass", "errors", "warnings") if key in previous}
        self._pending: tuple[list[dict[str, object]], Histogram, dict[str, Any]] | None = None

    def record(self, report: PassReport, errors: list[Problem],
               warnings: list[Problem]) -> bytes:
        """The status.json of a pass that succeeded, to be written, then ``committed``."""
        history = [*self.history, _history_row(report)][-HISTORY:]
        durations = replace(self.durations, buckets=list(self.durations.buckets))
        durations.observe(report.seconds)
        # Paths as JSON can carry them: a name that is not UTF-8 is shown escaped.
        row = {**asdict(report), "unsettled": [shown(path) for path in report.unsettled]}
        last = {"last_pass": row, "errors": [p.to_json() for p in errors],
                "warnings": [p.to_json() for p in warnings]}
        self._pending = history, durations, last
        return _encode({**last, "history": history, "publish_seconds": durations.to_json(),
                        "failing": None})

    def committed(self) -> None:
        """The status.json from ``record`` is on disk: the pass counts."""
        if self._pending is not None:
            self.history, self.durations, self.last = self._pending
            self._pending = None

    def failing(self, failure: Failure) -> bytes:
        """status.json while passes fail: the site as last published, and the failure."""
        self._pending = None
        return _encode({**self.last, "history": self.history,
                        "publish_seconds": self.durations.to_json(),
                        "failing": failure.to_json()})


def _encode(status: dict[str, Any]) -> bytes:
    return json.dumps(status, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


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
        """The histogram in ``data`` (status.json's), or an empty one if it is not one."""
        histogram = cls()
        if not isinstance(data, dict):
            return histogram
        try:
            counts = list(data["buckets"].values())
            if len(counts) == len(histogram.buckets):
                histogram.buckets = [int(c) for c in counts]
                histogram.count = int(data["count"])
                histogram.total = float(data["sum"])
        except (TypeError, KeyError, ValueError, AttributeError):
            pass
        return histogram
