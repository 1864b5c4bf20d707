"""Broken promises, each printed once as it happens; ``say``, how every part prints."""

from __future__ import annotations

import threading
import time
from collections import Counter


class Violations:
    """Broken promises: each printed once, when first seen, with its evidence."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first: dict[tuple[str, str], str] = {}
        self.repeats: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def report(self, kind: str, key: str, evidence: str) -> None:
        """One violation of ``kind``; ``key`` names the thing, so repeats print once."""
        with self._lock:
            self.repeats[(kind, key)] += 1
            if (kind, key) in self.first:
                return
            self.first[(kind, key)] = evidence
        say(f"VIOLATION {kind}: {evidence}", self.started)

    def by_kind(self) -> Counter[str]:
        with self._lock:
            return Counter(kind for kind, _ in self.first)

    def __len__(self) -> int:
        return len(self.first)


def say(message: str, started: float) -> None:
    print(f"[{time.time() - started:7.1f}s] {message}", flush=True)
