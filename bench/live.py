"""Benchmark live publishing: from a new file's close() to its entry served over HTTP.

    python bench/live.py [--articles 100000 --files 1000 --drops 50]

Starts `seedfeeds serve` (default debounce) on 127.0.0.1 with the corpus, then
drops new one-article files one at a time and polls the article's tag feed with
conditional GETs until the entry is there. Reports p50, p99 and max over the drops,
and the publish passes' own durations (from status.json) beside them: the rest is
the debounce, the event's way in and the web's way out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus import corpus  # noqa: E402

from support.liveserver import LiveServer  # noqa: E402

POLL = 0.002  # seconds between polls of the feed


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--drops", type=int, default=50)
    args = parser.parse_args()
    seeds = corpus(args.articles, args.files, 200)
    work = Path(tempfile.mkdtemp(prefix="seedfeeds-live-",
                                 dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        shutil.copytree(seeds, work / "seeds")
        print(f"corpus: {args.articles:,} articles in {args.files:,} files; starting "
              "seedfeeds serve (its first build takes a while) ...", file=sys.stderr)
        with LiveServer(work).start(timeout=600) as server:
            url = f"{server.base}/tags/latency-probe.atom"
            latencies = []
            for n in range(args.drops):
                headline = f"Latency probe number {n} is here! Latency Probe | Bench"
                text = f"{headline}\n{headline}\n\nA new article, dropped to be timed.\n"
                with open(server.seeds / f"probe-{n:03d}.txt", "w", encoding="utf-8") as f:
                    f.write(text)
                closed = time.perf_counter()
                etag: list[str] = []
                needle = f"Latency probe number {n} is here!".encode()
                while not served(url, needle, etag):
                    if time.perf_counter() - closed > 30:
                        sys.exit(f"drop {n} was not served within 30 s")
                    time.sleep(POLL)
                latencies.append(time.perf_counter() - closed)
                time.sleep(0.3)
            status = json.loads((server.feeds / "status.json").read_bytes())
            passes = sorted(row["seconds"] for row in status["history"][-args.drops:])
        latencies.sort()
        p99 = _percentile(latencies, 0.99)
        print(f"\n| {args.drops} drops, debounce 200 ms | close() to served, ms "
              "| of which the publish pass, ms |")
        print("|---|---:|---:|")
        for label, value, own in (
                ("p50", statistics.median(latencies), statistics.median(passes)),
                ("p99", p99, _percentile(passes, 0.99)),
                ("max", latencies[-1], passes[-1]), ("min", latencies[0], passes[0])):
            print(f"| {label} | {value * 1000:.0f} | {own * 1000:.0f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
