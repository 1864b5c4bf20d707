"""How much the hub takes from whom: requests per minute for each client address and
for each callback host, and how many subscriptions one callback host and the whole
hub may hold.

A rate is a token bucket holding a minute's worth: a reader that imports the OPML
subscribes to every feed at once (hundreds of requests in a few seconds, from one
address, naming one callback host) and gets them all, as long as the burst fits in
a minute's allowance; what comes faster than that waits (429 and Retry-After, which
readers honour). Buckets that have filled up again are forgotten, so a crowd of
addresses that each came once costs no memory.

The caps count the subscriptions held and the subscribe requests still waiting for
verification; renewing a subscription one holds is never refused by them.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

PRUNE_ABOVE = 10_000  # buckets kept before the full ones are forgotten
TOTAL_EVERY = 5.0  # seconds between two counts of every subscription


@dataclass
class _Bucket:
    tokens: float
    at: float


class Rate:
    """``per_minute`` requests a minute for each key, in bursts of up to a minute's
    worth."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity, self.per_second = float(per_minute), per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one request for ``key``: 0 if it may go on, else the seconds until it
        may (nothing is taken then)."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= PRUNE_ABOVE:
                    self._prune(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity,
                                bucket.tokens + (now - bucket.at) * self.per_second)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.per_second

    def _prune(self, now: float) -> None:
        """Forget the buckets that are full again (their keys start afresh anyway)."""
        full = [key for key, bucket in self._buckets.items()
                if bucket.tokens + (now - bucket.at) * self.per_second >= self.capacity]
        for key in full:
            del self._buckets[key]


def retry_after(seconds: float) -> int:
    """A Retry-After value: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))


class Total:
    """A count that is costly to make (every subscription), made at most every
    TOTAL_EVERY seconds and counted up by what was added since."""

    def __init__(self, count: Callable[[], int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.count, self.clock = count, clock
        self._value, self._at = 0, -math.inf
        self._lock = threading.Lock()

    def value(self) -> int:
        with self._lock:
            if self.clock() - self._at >= TOTAL_EVERY:
                self._value, self._at = self.count(), self.clock()
            return self._value

    def added(self) -> None:
        with self._lock:
            self._value += 1
