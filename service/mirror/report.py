"""What the mirror tells the web about itself: ``feeds/mirror.json``, for /status and
/metrics, rewritten after every attempt (the web reads no bucket and imports no boto3).

Request counters and the lag histogram carry across restarts (read back at start), as
Prometheus counters should. The shape, for the web side:

    {"version": 1, "updated": ISO, "target": "s3://bucket/prefix", "endpoint": URL|null,
     "cdn": TARGET|null, "state": "ok"|"syncing"|"failing"|"refused"|"stopped",
     "in_sync": bool, "objects": N,
     "pending": {"uploads": N, "deletes": N, "purges": N},
     "last_sync": {"finished": ISO, "seconds": S, "uploaded": N, "deleted": N,
                   "unchanged": N, "bytes": N, "purged": N} | null,
     "failing": {"since": ISO, "attempts": N, "error": LINE, "next_retry": ISO} | null,
     "requests": {"put": N, "get": N, "delete": N, "list": N, "purge": N},
     "lag_seconds": {"buckets": {"0.01": N, ..., "+Inf": N}, "count": N, "sum": S}}

``state``: ok (the bucket holds the last pass), syncing (work under way or waiting),
failing (an attempt failed; retried at next_retry), refused (it needs a person: the
delete guard, another publisher on the prefix, a lost lock; ``failing.error`` says),
stopped (the publisher exited; what it left undone is done at its next start).
``lag_seconds``: from the end of a pass to the bucket holding it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.mirror.objects import STATUS
from service.publish.status import Failure, Histogram

log = logging.getLogger(__name__)

VERSION = 1
REQUESTS = ("put", "get", "delete", "list", "purge")


@dataclass
class LastSync:
    finished: float
    seconds: float
    uploaded: int
    deleted: int
    unchanged: int
    sent: int
    purged: int

    def to_json(self) -> dict[str, object]:
        return {"finished": _iso(self.finished), "seconds": round(self.seconds, 4),
                "uploaded": self.uploaded, "deleted": self.deleted,
                "unchanged": self.unchanged, "bytes": self.sent, "purged": self.purged}


@dataclass
class Report:
    """The mirror's figures, and their file under feeds/."""

    feeds: Path
    target: str
    endpoint: str | None
    cdn: str | None
    state: str = "syncing"
    in_sync: bool = False
    objects: int = 0
    pending: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("uploads", "deletes", "purges"), 0))
    last: LastSync | None = None
    failure: Failure | None = None
    requests: dict[str, int] = field(default_factory=dict)
    lag: Histogram = field(default_factory=Histogram)

    def __post_init__(self) -> None:
        earlier = _load(self.path)
        counted = earlier.get("requests")
        self.base = {k: int(counted.get(k, 0)) if isinstance(counted, dict) else 0
                     for k in REQUESTS}
        self.lag = Histogram.from_json(earlier.get("lag_seconds"))

    @property
    def path(self) -> Path:
        return self.feeds / STATUS

    def to_json(self, now: float) -> dict[str, Any]:
        return {"version": VERSION, "updated": _iso(now), "target": self.target,
                "endpoint": self.endpoint, "cdn": self.cdn, "state": self.state,
                "in_sync": self.in_sync, "objects": self.objects, "pending": self.pending,
                "last_sync": self.last.to_json() if self.last else None,
                "failing": self.failure.to_json() if self.failure else None,
                "requests": {k: self.base[k] + self.requests.get(k, 0) for k in REQUESTS},
                "lag_seconds": self.lag.to_json()}

    def write(self, now: float) -> None:
        """Replace the file atomically; a failure to write it is logged, never raised (the
        bucket's state does not depend on it)."""
        data = json.dumps(self.to_json(now), ensure_ascii=False, separators=(",", ":"))
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            temp.write_bytes(data.encode() + b"\n")
            os.replace(temp, self.path)
        except OSError as exc:
            log.warning("mirror: could not write %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                temp.unlink()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
