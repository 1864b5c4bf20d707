"""The run's numbers, one frozen value handed to every part: none reads the command line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """What one soak run does; every number is a command-line option."""

    minutes: float
    articles: int
    files: int
    tags: int
    reconcile: float
    margin: float
    entries: int
    clients: int
    crash_every: float
    seed: int
    keep: bool
    tmp: str | None
    faults: int = 0  # read-only feeds/ and locked state, taking turns
    recovery: float = 90.0  # s after a fault clears by which every change must show
    archive_size: int = 25  # entries in each frozen archive document (RFC 5005)

    @property
    def settle(self) -> float:
        """How long a change may take to be published: the reconcile heals anything
        the watcher missed, and one pass on a busy machine finishes it."""
        return self.reconcile + self.margin
