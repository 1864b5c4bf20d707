"""What each pass did, for people and machines: the pass report, the history of recent
passes and the cumulative durations, written to feeds/status.json.

The web side serves /status and /metrics from that file, so it needs no state of the
publisher; history and counters are read back at start, so a restart resets neither.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

from service.seed.problems import Problem

HISTORY = 50  # publish passes kept in status.json, for the status page's chart


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


class StatusLog:
    """The passes so far: the last ``HISTORY`` of them and every duration, as status.json."""

    def __init__(self, path: Path) -> None:
        previous = _load_status(path)
        self.history: list[dict[str, object]] = previous.get("history", [])[-HISTORY:]
        self.durations = Histogram.from_json(previous.get("publish_seconds"))

    def record(self, report: PassReport, errors: list[Problem],
               warnings: list[Problem]) -> bytes:
        """Add a pass; the new status.json."""
        self.history = [*self.history, _history_row(report)][-HISTORY:]
        self.durations.observe(report.seconds)
        status = {"last_pass": asdict(report), "errors": [p.to_json() for p in errors],
                  "warnings": [p.to_json() for p in warnings], "history": self.history,
                  "publish_seconds": self.durations.to_json()}
        return json.dumps(status, ensure_ascii=False, separators=(",", ":")).encode()


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
        histogram = cls()
        try:
            counts = list(data["buckets"].values())  # type: ignore[index]
            if len(counts) == len(histogram.buckets):
                histogram.buckets = [int(c) for c in counts]
                histogram.count = int(data["count"])  # type: ignore[index]
                histogram.total = float(data["sum"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError, AttributeError):
            pass
        return histogram
