"""Benchmark live publishing: from a new file's close() to its entry served over HTTP.

    python bench/live.py [--articles 100000 --files 1000 --drops 50] [--before TREE]

Starts `seedfeeds serve` (default debounce) on 127.0.0.1 with the corpus, then
drops new one-article files one at a time and polls the article's tag feed with
conditional GETs until the entry is there. Reports p50, p99 and max over the drops,
the publish passes' own durations (from status.json) beside them (the rest is the
scheduler's wait, the event's way in and the web's way out), and how many passes the
drops made.

The server runs the code of the source tree this script is in (PYTHONPATH points at
it). With ``--before TREE`` (a worktree of an older commit, say) a second server runs
that tree's code on its own copy of the corpus, and the drops alternate between the
two, so both are measured in one run on the same machine, under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus import corpus  # noqa: E402
from support.liveserver import LiveServer  # noqa: E402

POLL = 0.002  # seconds between polls of the feed
TIMEOUT = 30.0  # seconds a drop may take to be served


def served(url: str, needle: bytes, etag: list[str]) -> bool:
    """One conditional GET: True once the feed contains ``needle``."""
    request = urllib.request.Request(url, headers={"If-None-Match": etag[0]} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            etag[:] = [response.headers.get("ETag", "")]
    except urllib.error.HTTPError as exc:
        if exc.code in (304, 404):
            return False
        raise
    return needle in body


@contextlib.contextmanager
def code_of(tree: Path) -> Iterator[None]:
    """Processes started in the block import ``service`` from ``tree``."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(tree)
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before


@dataclass
class Measured:
    """One server and what its drops measured."""

    label: str
    tree: Path
    server: LiveServer
    latencies: list[float] = field(default_factory=list)
    passes_before: int = 0

    def pass_count(self) -> int:
        return int(self.server.status().get("publish_seconds", {}).get("count", 0))

    def drop(self, n: int) -> None:
        """Drop probe ``n`` and wait until its tag feed serves it."""
        url = f"{self.server.base}/tags/latency-probe.atom"
        headline = f"Latency probe number {n} is here! Latency Probe | Bench"
        text = f"{headline}\n{headline}\n\nA new article, dropped to be timed.\n"
        with open(self.server.seeds / f"probe-{n:03d}.txt", "w", encoding="utf-8") as f:
            f.write(text)
        closed = time.perf_counter()
        etag: list[str] = []
        needle = f"Latency probe number {n} is here!".encode()
        while not served(url, needle, etag):
            if time.perf_counter() - closed > TIMEOUT:
                sys.exit(f"{self.label}: drop {n} was not served within {TIMEOUT:g} s")
            time.sleep(POLL)
        self.latencies.append(time.perf_counter() - closed)

    def passes(self) -> list[float]:
        """The durations of the passes since the first drop (the last 50 at most)."""
        status = self.server.status()
        made = self.pass_count() - self.passes_before
        return sorted(float(row["seconds"]) for row in status["history"][-made:]) if made else []


def wait_idle(measured: Measured, seconds: float = 2.0) -> None:
    """Until the server has made no pass for ``seconds`` (the rescan after its build)."""
    count, since = measured.pass_count(), time.monotonic()
    while time.monotonic() - since < seconds:
        time.sleep(0.1)
        if measured.pass_count() != count:
            count, since = measured.pass_count(), time.monotonic()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--drops", type=int, default=50)
    parser.add_argument("--before", type=Path, default=None,
                        help="a source tree to measure too, in the same run")
    args = parser.parse_args()
    seeds = corpus(args.articles, args.files, 200)
    trees = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    work = Path(tempfile.mkdtemp(prefix="seedfeeds-live-",
                                 dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        with contextlib.ExitStack() as stack:
            runs = []
            for label, tree in trees:
                shutil.copytree(seeds, work / label / "seeds")
                print(f"{label}: {tree}; corpus: {args.articles:,} articles in "
                      f"{args.files:,} files; starting seedfeeds serve (its first build "
                      "takes a while) ...", file=sys.stderr)
                with code_of(tree):
                    server = stack.enter_context(LiveServer(work / label).start(timeout=600))
                runs.append(Measured(label, tree, server))
            for run in runs:
                wait_idle(run)
                run.passes_before = run.pass_count()
            for n in range(args.drops):
                for run in runs if n % 2 == 0 else runs[::-1]:
                    run.drop(n)
                    time.sleep(0.3)
            time.sleep(1)  # the passes' rows are in status.json, and any late pass too
            report(runs, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(runs: list[Measured], args: argparse.Namespace) -> None:
    print(f"\n{args.drops} drops of a one-article file into {args.articles:,} articles "
          f"({args.files:,} files), default debounce (200 ms); milliseconds:\n")
    header = " | ".join(f"{run.label}: close() to served | {run.label}: its pass"
                        for run in runs)
    print(f"| | {header} |")
    print("|---|" + "---:|---:|" * len(runs))
    rows = {run.label: (sorted(run.latencies), run.passes()) for run in runs}
    for name, pick in (("p50", statistics.median), ("p99", lambda v: _percentile(v, 0.99)),
                       ("max", max), ("min", min)):
        cells = " | ".join(f"{pick(latencies) * 1000:.0f} | {pick(passes) * 1000:.0f}"
                           for latencies, passes in rows.values())
        print(f"| {name} | {cells} |")
    for run in runs:
        made = run.pass_count() - run.passes_before
        slowest = max(range(len(run.latencies)), key=run.latencies.__getitem__)
        print(f"\n{run.label} ({run.tree}): {made} passes for {args.drops} drops; the "
              f"slowest was drop {slowest + 1}, the first ones were "
              + ", ".join(f"{value * 1000:.0f}" for value in run.latencies[:5]) + " ms")


def _percentile(ordered: list[float], fraction: float) -> float:
    ordered = sorted(ordered)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
