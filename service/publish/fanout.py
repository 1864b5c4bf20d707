"""Runs render jobs on every core for a cold build, in forked worker processes.

A cold build renders and writes one page per article, 100,000 in a large site:
work that divides cleanly. Workers are forked after the catalog is built, so
they share it without copying; each renders its share, writes the files
through its copy of the site writer, and sends back only what the parent's
manifest must learn. Forking is safe only while the process runs one thread,
so the publisher asks for workers only then; otherwise jobs run in-process.
This module decides who does what; ``forks`` runs the workers.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence

from service.publish.forks import Job, Pool, may_fork
from service.publish.writer import SiteWriter

BATCH = 2000  # work per batch, in units of one article page: a progress report each
PARALLEL_MIN = 500  # article pages below which forking workers costs more than it saves


def workers_available() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


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

    ``weight`` is a job's cost relative to the cheapest: each worker gets an equal
    share of the first jobs, heaviest first, and each later batch goes to the one with
    the least work so far. Every write is done when it returns: a failed one raises
    here."""
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
    # Freeze the heap before forking: otherwise the workers' garbage collector walks the
    # inherited catalog, touching every object and copying every page it shares.
    gc.freeze()
    try:
        # The first jobs dealt in turn, heaviest first: each worker an equal share.
        ordered = sorted(jobs, key=weight, reverse=True)
        hands = [ordered[number::workers] for number in range(workers)]
        load = [sum(map(weight, hand)) for hand in hands]
        with Pool(do, writer, [batches(hand, weight) for hand in hands]) as pool:

            def submit(more: Sequence[Job]) -> None:
                # In a few runs, neighbours together (a cold build's archives come
                # oldest first, and a worker renders an entry once for all its feeds'
                # archives), each to the worker with the least work so far.
                nonlocal total
                total += len(more)
                for batch in batches(more, weight, workers):
                    number = load.index(min(load))
                    load[number] += sum(map(weight, batch))
                    pool.give(number, batch)
            meanwhile(submit)
            pool.finish(lambda done: progress(done, total) if progress else None)
    finally:
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
