"""Benchmark the seed reader: MB/s and articles/s on one core.

Reads every file of a generated corpus (100,000 articles in 1,000 files and 200
tags by default) three ways, best of N runs each, in one process:

  read + decode     open, read and UTF-8-decode only (the floor)
  regex split       the same plus a plain blank-line regex split (no rules)
  seedfeeds reader  service.seed.read.read_seed: the whole format, ids included

Seconds and MB/s are wall-clock, as always; the CPU columns are the same runs'
process time, the steadier measure when other work shares the machine.

    python bench/reader.py [--articles 100000 --files 1000 --tags 200 --runs 3]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from service.seed.read import read_seed  # noqa: E402

from corpus import corpus  # noqa: E402

_BLANK = re.compile(r"\n[ \t]*\n")


def read_decode(paths: list[Path]) -> int:
    return sum(len(p.read_bytes().decode("utf-8")) for p in paths)


def regex_split(paths: list[Path]) -> int:
    return sum(len(_BLANK.split(p.read_bytes().decode("utf-8"))) for p in paths)


def reader(paths: list[Path]) -> int:
    return sum(len(read_seed(p, p.name).articles) for p in paths)


def best_of(runs: int, work, paths: list[Path]) -> tuple[float, float, int]:
    """Best wall-clock and best CPU seconds of ``runs`` runs, and the work's result.
    (On a shared machine the CPU time of this process is the steadier of the two.)"""
    walls, cpus, result = [], [], 0
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work(paths)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return min(walls), min(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(corpus(args.articles, args.files, args.tags, args.seed).iterdir())
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    print(f"corpus: {len(paths):,} files, {megabytes:.1f} MB, {args.articles:,} articles; "
          f"best of {args.runs} runs, one core\n")
    print("| stage | seconds | MB/s | articles/s | us/article | CPU seconds | CPU MB/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, work in (("read + decode", read_decode), ("regex split", regex_split),
                       ("seedfeeds reader", reader)):
        seconds, cpu, result = best_of(args.runs, work, paths)
        rate = f"{args.articles / seconds:,.0f}" if work is reader else "-"
        each = f"{seconds / args.articles * 1e6:.1f}" if work is reader else "-"
        print(f"| {name} | {seconds:.2f} | {megabytes / seconds:.0f} | {rate} | {each} "
              f"| {cpu:.2f} | {megabytes / cpu:.0f} |")
        if work is reader and result != args.articles:
            sys.exit(f"reader found {result} articles, expected {args.articles}")


if __name__ == "__main__":
    main()
