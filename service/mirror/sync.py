"""Carrying out a plan: upload phase by phase on a pool of threads, then delete, and
record each object in the bucket's record as soon as the store has it.

A phase ends before the next begins, so whatever links to a page is uploaded only once
the page is there. A failed request ends the pass: nothing more is sent, the requests
in flight finish (and are recorded if they succeeded), and the error goes up, to be
retried; a retry skips what the record shows done. Each file is read when it is sent:
a manifest file whose bytes no longer match the snapshot was rewritten by a newer pass
(it is left for that pass's snapshot, so a feed never goes up before the pages it links
to), and a file that is gone was removed by one.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from service.mirror.aws import Bucket
from service.mirror.ledger import Ledger, Row
from service.mirror.plan import Item, Plan

T = TypeVar("T")
R = TypeVar("R")


class Stopping(Exception):
    """The mirror was asked to stop in the middle of a pass."""


@dataclass
class Outcome:
    """What one pass did to the bucket."""

    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    same: int = 0  # pages read, compared, found as the bucket has them
    moved: list[str] = field(default_factory=list)  # changed again since the snapshot
    sent: int = 0  # bytes uploaded
    seconds: float = 0.0

    def add(self, other: Outcome) -> None:
        self.uploaded += other.uploaded
        self.deleted += other.deleted
        self.same += other.same
        self.moved += other.moved
        self.sent += other.sent


class Carrier:
    """Carries out plans against one bucket, recording into its ledger."""

    def __init__(self, feeds: Path, bucket: Bucket, ledger: Ledger, pool: Executor,
                 workers: int, stop: threading.Event,
                 before_writing: Callable[[], None] = lambda: None) -> None:
        self.feeds, self.bucket, self.ledger, self.pool = feeds, bucket, ledger, pool
        self.workers, self.stop = workers, stop
        self.before_writing = before_writing  # once a pass, before its first write
        self._writing = threading.Lock()
        self._written = False

    def carry_out(self, plan: Plan, outcome: Outcome) -> None:
        """Every upload of ``plan`` by phase, then its deletes (unless refused), each
        success recorded in the ledger and ``outcome`` as it comes."""
        started = time.perf_counter()
        self._written = False
        try:
            for phase in plan.phases:
                for item, result in self._map(self._upload, phase):
                    if isinstance(result, Row):
                        self.ledger.record(item.path, result)
                        outcome.uploaded.append(item.path)
                        outcome.sent += result.size
                    elif result == "same":
                        outcome.same += 1
                    else:
                        outcome.moved.append(item.path)
            if not plan.refused:
                for path, _ in self._map(self._delete, plan.deletes):
                    self.ledger.forget(path)
                    outcome.deleted.append(path)
        finally:
            outcome.seconds += time.perf_counter() - started

    def _upload(self, item: Item) -> Row | str:
        """Send one file as it is on disk now: its record row, or "same" (a page the bucket
        holds already) or "moved" (rewritten or removed since the snapshot)."""
        try:
            with open(self.feeds / item.path, "rb") as stream:
                body = stream.read()
        except FileNotFoundError:
            return "moved"
        sha = hashlib.sha256(body).hexdigest()
        if item.expect is not None and sha != item.expect:
            return "moved"
        if item.same == sha:
            return "same"
        self._first_write()
        etag = self.bucket.put(item.path, body, item.headers.content_type,
                               item.headers.cache_control)
        return Row(sha, item.headers.digest, len(body), etag)

    def _delete(self, path: str) -> None:
        self._first_write()
        self.bucket.delete(path)

    def _first_write(self) -> None:
        """``before_writing`` once, whichever worker writes first (the others wait)."""
        if self._written:
            return
        with self._writing:
            if not self._written:
                self.before_writing()
                self._written = True

    def _map(self, work: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R]]:
        """``work`` over ``items`` on ``workers`` threads of the pool, each taking the next
        item as it is free; each result as it comes (a queue, not a future per item:
        100,000 futures cost more than the uploads' own Python). The first error stops
        the taking: what is in flight finishes, its successes are yielded, then the error
        is raised."""
        source, taking = iter(items), threading.Lock()
        results: queue.SimpleQueue[tuple[T, R] | None] = queue.SimpleQueue()  # None: a worker ends
        failed: list[Exception] = []

        def take() -> None:
            try:
                while True:
                    with taking:
                        if failed or self.stop.is_set():
                            return
                        try:
                            item = next(source)
                        except StopIteration:
                            return
                    try:
                        results.put((item, work(item)))
                    except Exception as exc:  # a store's refusal, a file that cannot be read
                        failed.append(exc)
            finally:
                results.put(None)

        for _ in range(self.workers):
            self.pool.submit(take)
        running = self.workers
        while running:
            got = results.get()
            if got is None:
                running -= 1
            else:
                yield got
        if failed:
            raise failed[0]
        if self.stop.is_set():
            raise Stopping()
