"""Runs render jobs on every core for a cold build, in forked worker processes.

A cold build renders and writes one page per article, 100,000 in a large site:
work that divides cleanly. Workers are forked after the catalog is built, so
they share it without copying; each renders its batches, writes the files
through its copy of the site writer, and sends back only what the parent's
manifest must learn. Forking is safe only while the process runs one thread,
so the publisher asks for workers only then; otherwise jobs run in-process.

Workers never outlive the build: if it stops (a signal, a failed job), the parent
terminates them; if the parent dies, even by SIGKILL, the kernel kills them
(Linux's parent-death signal), instead of leaving orphans that hold their memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from service.publish.writer import Changes, SiteWriter

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

Job = tuple[Any, ...]
BATCH = 2000  # work per batch, in units of one article page: amortises a round trip
PARALLEL_MIN = 500  # article pages below which forking workers costs more than it saves

_context: tuple[Callable[[Job], None], SiteWriter] | None = None


def workers_available() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def may_fork() -> bool:
    """Forking is safe only while this process runs one thread: a lock another thread
    holds at the fork stays held in the child for good."""
    return threading.active_count() == 1


def workers_for(pages: int) -> int:
    """The processes to render a cold build of ``pages`` article pages on: one a core,
    or this one alone for a small site, or while this process runs other threads."""
    if pages < PARALLEL_MIN or not may_fork():
        return 1
    return workers_available()


Submit = Callable[[Sequence[Job]], None]


def run(jobs: Sequence[Job], do: Callable[[Job], None], writer: SiteWriter, workers: int,
        progress: Callable[[int, int], None] | None = None,
        weight: Callable[[Job], int] = lambda job: 1,
        meanwhile: Callable[[Submit], None] = lambda submit: None) -> None:
    """Run ``do`` on every job, on ``workers`` processes (1: here, in order), and
    ``meanwhile(submit)`` here: while the workers render, else after the jobs. It may
    hand the workers more jobs with ``submit``; they know the process as it was when
    they forked (at the first jobs), so a later job carries what came after. It must
    write other files than the jobs do (the workers' writes are merged at the end).

    ``weight`` is a job's cost relative to the cheapest: the batches are cut to equal
    weight, heaviest jobs first, so no worker is left with the slow tail alone. Every
    write is done when it returns: a failed one raises here."""
    total = len(jobs)
    if workers <= 1 or total < 2:
        done, total = 0, 0

        def run_here(more: Sequence[Job]) -> None:
            nonlocal done, total
            total += len(more)
            for job in more:
                do(job)
                done += 1
                if progress:
                    progress(done, total)
        run_here(jobs)
        meanwhile(run_here)
        return
    # Here: a build too small to fork never pays their 15 ms of imports.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    global _context
    _context = (do, writer)
    # Freeze the heap before forking: otherwise the workers' garbage collector walks the
    # inherited catalog, touching every object and copying every page it shares.
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=start_child, initargs=(os.getpid(),)) as pool:
            try:
                # The first submit forks the workers: a stop signal meanwhile would run
                # this process's handler in a worker: blocked until each has its own.
                mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
                try:
                    futures = {pool.submit(_work, batch): len(batch)
                               for batch in batches(jobs, weight, workers * 8)}
                finally:
                    signal.pthread_sigmask(signal.SIG_SETMASK, mask)

                def submit(more: Sequence[Job]) -> None:
                    # One run per worker: a cold build's archives come oldest first, and
                    # each worker renders an entry for all its feeds' archives at once.
                    nonlocal total
                    total += len(more)
                    futures.update({pool.submit(_work, batch): len(batch)
                                    for batch in batches(more, weight, workers)})
                meanwhile(submit)
                done = 0
                for future in as_completed(futures):
                    writer.merge(future.result())
                    done += futures[future]
                    if progress:
                        progress(done, total)
            except BaseException:
                _stop_workers(pool)
                raise
    finally:
        _context = None
        gc.unfreeze()


def batches(jobs: Sequence[Job], weight: Callable[[Job], int],
            runs: int = 0) -> list[list[Job]]:
    """Jobs in batches of about BATCH weight, heaviest first (the longest-processing-
    time-first rule: the last batches to finish are the short ones). With ``runs``,
    the jobs of each weight are cut into at most that many batches: neighbours stay in
    one worker (a cold build's archives come oldest first, and an entry's archives in
    its feeds are neighbours: one worker renders it, and keeps its bytes for the rest)."""
    ordered = sorted(((weight(job), job) for job in jobs), key=lambda pair: -pair[0])
    totals: dict[int, int] = {}
    for cost, _ in ordered:
        totals[cost] = totals.get(cost, 0) + cost
    cut: list[list[Job]] = []
    batch: list[Job] = []
    load = 0
    for cost, job in ordered:
        batch.append(job)
        load += cost
        if load >= max(BATCH, totals[cost] // runs if runs else 0):
            cut.append(batch)
            batch, load = [], 0
    if batch:
        cut.append(batch)
    return cut


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop now rather than after the batches in flight: the build is abandoned, and
    every file a worker wrote was written whole (atomically) or not at all."""
    import multiprocessing  # loaded with the pool

    pool.shutdown(wait=False, cancel_futures=True)
    for worker in multiprocessing.active_children():  # the pool's: the only children
        worker.kill()  # SIGKILL: a worker holds nothing to clean up
        worker.join()


PR_SET_PDEATHSIG = 1  # linux/prctl.h
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def start_child(parent: int) -> None:
    """In a new worker (or any child this package forks): die with the parent, and
    leave signals to it."""
    # Ctrl-C reaches the whole process group; the parent decides, then stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP):  # not the parent's handlers
        signal.signal(number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked across the fork
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the parent's kill() is all
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the death signal was set: none will come
        os._exit(1)


def _work(batch: list[Job]) -> Changes:
    """In a worker: run a batch of jobs, return what the parent's writer must record."""
    assert _context is not None, "fanout worker started without a context"
    do, writer = _context
    for job in batch:
        do(job)
    changes = writer.take_changes()
    # Not the names of the pages written: a cold build's every page, which its publisher
    # does not keep (its mirror lists the folder), and which, sent back, would be freed
    # after the pass in holes between what the parent keeps.
    changes.pages = set()
    return changes
