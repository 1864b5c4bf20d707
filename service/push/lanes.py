"""Work for many hosts on a few threads, fairly: one lane per host.

At most ``per_host`` jobs of one host run at once, and hosts with work waiting take
turns, so a reader that subscribes to every feed at once (hundreds of jobs for one
callback host) neither hammers that host nor makes another host's job wait behind
all of its own: a worker never sits blocked on a busy host, it takes the next host's
job instead.

Workers are started as they are needed, up to ``workers``: one more whenever a host
with room waits for its turn and no worker is free. A pool sized for pushes to a
thousand slow callbacks at once (most of a push is waiting for the network) costs an
idle hub, and every test, no threads it never used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

Job = Callable[[], None]


class Lanes:
    """A pool of ``workers`` threads running jobs by host, ``per_host`` at a time."""

    def __init__(self, workers: int, per_host: int, name: str = "lane") -> None:
        self.workers, self.per_host, self.name = workers, per_host, name
        self._waiting: dict[str, deque[Job]] = {}
        self._running: Counter[str] = Counter()
        self._turns: deque[str] = deque()  # hosts with a job waiting and room to run it
        self._changed = threading.Condition()
        self._started = self._stopping = False
        self._threads: list[threading.Thread] = []
        self._free = 0  # workers started and not running a job

    def start(self) -> None:
        with self._changed:
            self._started = True
            new = self._grow()
        self._start(new)

    def submit(self, host: str, job: Job) -> None:
        """Run ``job`` when a worker is free and ``host`` has room."""
        self.submit_all([(host, job)])

    def submit_all(self, jobs: Iterable[tuple[str, Job]]) -> None:
        """``submit`` each (host, job), in order, under one lock: a burst of 1,000
        takes the lock once, not 1,000 times against the workers taking them."""
        with self._changed:
            count = 0
            for host, job in jobs:
                self._waiting.setdefault(host, deque()).append(job)
                self._offer(host)
                count += 1
            self._changed.notify(count)  # the free workers start on them at once
            new = self._grow()
        self._start(new)

    def threads(self) -> int:
        """Workers started so far."""
        with self._changed:
            return len(self._threads)

    def _grow(self) -> list[threading.Thread]:
        """The workers to start (after the lock is let go: starting a thread takes a
        while, and 100 of them would hold up every worker) while hosts wait for a turn
        that no free worker will take."""
        new = []
        while (self._started and not self._stopping and len(self._threads) < self.workers
               and len(self._turns) > self._free):
            thread = threading.Thread(target=self._work, daemon=True,
                                      name=f"{self.name}-{len(self._threads)}")
            self._threads.append(thread)
            self._free += 1
            new.append(thread)
        return new

    def _start(self, threads: list[threading.Thread]) -> None:
        """Start the workers ``_grow`` made; one the system refuses (a thread limit) is
        forgotten, and the workers running take its share."""
        for thread in threads:
            try:
                thread.start()
            except RuntimeError as exc:
                log.warning("%s: cannot start another worker (%s); %d run", self.name, exc,
                            len(self._threads) - 1)
                with self._changed:
                    self._threads.remove(thread)
                    self._free -= 1

    def busy(self) -> int:
        """Jobs waiting or running."""
        with self._changed:
            return sum(map(len, self._waiting.values())) + sum(self._running.values())

    def stop(self, timeout: float = 15.0) -> bool:
        """Drop the jobs waiting, which were never started, and wait up to ``timeout``
        seconds in all for those running; True if they all finished."""
        with self._changed:
            self._stopping = True
            self._waiting.clear()
            self._turns.clear()
            self._changed.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread.ident is not None:  # one never started sees the stop when it is
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def _offer(self, host: str) -> None:
        """Give ``host`` a turn if it has a job waiting and room to run one."""
        if (self._waiting.get(host) and self._running[host] < self.per_host
                and host not in self._turns):
            self._turns.append(host)

    def _next(self) -> tuple[str, Job] | None:
        with self._changed:
            while not self._turns and not self._stopping:
                self._changed.wait()
            if self._stopping:
                return None
            host = self._turns.popleft()
            job = self._waiting[host].popleft()
            if not self._waiting[host]:
                del self._waiting[host]
            self._running[host] += 1
            self._free -= 1
            self._offer(host)  # to the back of the line: other hosts first
            new = self._grow()
        self._start(new)
        return host, job

    def _done(self, host: str) -> None:
        with self._changed:
            self._running[host] -= 1
            if not self._running[host]:
                del self._running[host]
            self._free += 1
            self._offer(host)
            self._changed.notify()

    def _work(self) -> None:
        while (taken := self._next()) is not None:
            host, job = taken
            try:
                job()
            except Exception:  # a job's own failure must not end the worker
                log.exception("%s: a job for %s failed", self.name, host)
            finally:
                self._done(host)
