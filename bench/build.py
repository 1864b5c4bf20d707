"""Benchmark a cold `seedfeeds build` against Hugo, and one incremental publish pass.

    python bench/build.py [--articles 100000 --files 1000 --tags 200] [--out /dev/shm/...]
                          [--baseline /path/to/an/older/checkout] [--runs N]

1. Cold build: `seedfeeds build` of the corpus into a fresh folder, wall time and
   peak memory (the largest process), beside Hugo (Debian `hugo`) building per-tag
   RSS only from the same corpus converted by ../shared/tools/corpus_to_hugo.py,
   in the same run; with ``--baseline``, first the same build by an older checkout of
   seedfeeds (run with this venv), the before beside the after; with ``--runs N``, N
   rounds of them in turn, for the median and the range. Files and bytes written,
   and of those the RFC 5005 archives. Output goes to tmpfs by default: on ext4, creating
   files soon after deleting tens of thousands costs 20 times more and times the file
   system.
2. Incremental pass: a publisher that has built the corpus gets one new file of 10
   articles; the pass's time and the files it rewrote (counted, and named by kind).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from service.config import load_settings  # noqa: E402
from service.publish.publisher import Publisher  # noqa: E402

from corpus import corpus  # noqa: E402

HUGO_TOOL = ROOT.parent / "shared" / "tools" / "corpus_to_hugo.py"
SEEDFEEDS = ROOT / ".venv" / "bin" / "seedfeeds"


def compiled(code: Path = ROOT) -> None:
    """Compile a checkout's modules, as pip compiles an installed package: an editable
    install under PYTHONDONTWRITEBYTECODE would otherwise compile them on every run
    (45 ms of a small build), the baseline's as well as this checkout's."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "service")],
                   check=True, stdout=subprocess.DEVNULL)


def timed_run(command: list[str], cwd: Path | None = None,
              env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command to completion; wall seconds and the peak RSS (MiB) of its largest
    process (it or one of its workers), from this child's own rusage."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    return seconds, usage.ru_maxrss / 1024


def cold_seedfeeds(seeds: Path, out: Path,
                   code: Path | None = None) -> tuple[float, float, Written]:
    """A cold build by this checkout, or by the one at ``code``: seconds, peak MiB, what
    it wrote in all and in archive/."""
    name = "seedfeeds" if code is None else "baseline"
    feeds, state = out / name / "feeds", out / name / "state.sqlite"
    command = ([str(SEEDFEEDS)] if code is None else
               [str(ROOT / ".venv" / "bin" / "python"), "-m", "service"])
    env = None if code is None else {**os.environ, "PYTHONPATH": str(code)}
    # -m puts the working folder first on sys.path: the baseline's, not this checkout's
    seconds, peak = timed_run([*command, "build", "--seeds", str(seeds),
                               "--feeds", str(feeds), "--state", str(state)], cwd=code,
                              env=env)
    written = written_in(feeds)
    shutil.rmtree(out / name, ignore_errors=True)  # tmpfs is memory
    return seconds, peak, written


Written = tuple[int, int, int, int]  # files, bytes; of those in archive/: files, bytes


def written_in(feeds: Path) -> Written:
    files = size = archive_files = archive_size = 0
    for folder, _, names in os.walk(feeds):
        in_archive = Path(folder).is_relative_to(feeds / "archive")
        for name in names:
            length = os.stat(os.path.join(folder, name)).st_size
            files, size = files + 1, size + length
            if in_archive:
                archive_files, archive_size = archive_files + 1, archive_size + length
    return files, size, archive_files, archive_size


def cold_hugo(seeds: Path, out: Path) -> tuple[float, float, int] | None:
    hugo = shutil.which("hugo")
    if hugo is None or not HUGO_TOOL.is_file():
        print("hugo or corpus_to_hugo.py not found: Hugo is left out "
              "(apt-get install hugo)", file=sys.stderr)
        return None
    site = out / "hugo"
    subprocess.run([sys.executable, str(HUGO_TOOL), str(seeds), str(site)], check=True,
                   stdout=subprocess.DEVNULL)
    seconds, peak = timed_run([hugo, "--quiet"], cwd=site)
    files = sum(len(names) for _, _, names in os.walk(site / "public"))
    shutil.rmtree(site, ignore_errors=True)  # tmpfs is memory; the next run converts anew
    return seconds, peak, files


def incremental(seeds: Path, out: Path) -> tuple[float, int, dict[str, int]]:
    """Time one pass after a new 10-article file; count rewritten files by kind."""
    work = out / "incremental"
    shutil.copytree(seeds, work / "seeds")
    settings = load_settings({"seeds": str(work / "seeds"), "feeds": str(work / "feeds"),
                              "state": str(work / "state.sqlite")}, {})
    publisher = Publisher(settings)
    publisher.publish()
    new = "".join(f"Breaking story number {n} arrives! Navy | Harbour News\n"
                  f"Breaking story number {n} arrives! Navy | Harbour News\n\n"
                  f"Body of breaking story {n}, with enough words to be an article.\n\n"
                  for n in range(10))
    (work / "seeds" / "breaking.txt").write_text(new, encoding="utf-8")
    before = _mtimes(work / "feeds")
    start = time.perf_counter()
    report = publisher.publish({"breaking.txt"})
    seconds = time.perf_counter() - start
    after = _mtimes(work / "feeds")
    publisher.close()
    changed = [p for p, m in after.items() if before.get(p) != m and p != "status.json"]
    kinds: dict[str, int] = {}
    for path in changed:
        kind = ("article pages" if path.startswith("articles/") else
                "archives" if path.startswith("archive/") else
                "tag files" if path.startswith("tags/") else "front files")
        kinds[kind] = kinds.get(kind, 0) + 1
    assert report.articles_changed == 10, report
    return seconds, len(changed), kinds


def _mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("/dev/shm") if
                        Path("/dev/shm").is_dir() else None,
                        help="where to build (default: a fresh folder on tmpfs)")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="also build with an older checkout of seedfeeds, first")
    parser.add_argument("--runs", type=int, default=1,
                        help="rounds of the cold builds, each round every build in turn; "
                        "the table gives the median, and the range of the rounds")
    args = parser.parse_args()
    for code in [ROOT, *([args.baseline] if args.baseline else [])]:
        compiled(code)
    seeds = corpus(args.articles, args.files, args.tags)
    out = Path(tempfile.mkdtemp(prefix="seedfeeds-bench-", dir=args.out))
    try:
        print(f"corpus: {args.articles:,} articles in {args.files:,} files, {args.tags} tags; "
              f"output in {out} ({os.cpu_count()} cores)\n")
        print("| cold build | seconds | peak memory | files written | bytes written "
              "| of which archives |")
        print("|---|---:|---:|---:|---:|---:|")
        before: list[tuple[float, float, Written]] = []
        after: list[tuple[float, float, Written]] = []
        hugo: list[tuple[float, float, int]] = []
        for _ in range(args.runs):
            if args.baseline:
                before.append(cold_seedfeeds(seeds, out, args.baseline))
            after.append(cold_seedfeeds(seeds, out))
            found = cold_hugo(seeds, out)
            hugo += [found] if found else []
        if before:
            _row(f"seedfeeds at {args.baseline.name} (before)", before)
        _row("seedfeeds build (feeds, archives, pages, OPML)", after)
        if hugo:
            print(f"| Hugo {_hugo_version()} (per-tag RSS only) | {_seconds(hugo)} | "
                  f"{statistics.median([run[1] for run in hugo]):,.0f} MiB | {hugo[0][2]:,} | | |")
        seconds, changed, kinds = incremental(seeds, out)
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        print(f"\nincremental pass after one new 10-article file: {seconds * 1000:.0f} ms, "
              f"{changed} files rewritten ({detail})")
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _row(label: str, runs: list[tuple[float, float, Written]]) -> None:
    files, size, archive_files, archive_size = runs[0][2]
    print(f"| {label} | {_seconds(runs)} | {statistics.median([run[1] for run in runs]):,.0f} MiB "
          f"| {files:,} | {size / 2**20:,.0f} MiB "
          f"| {archive_files:,} files, {archive_size / 2**20:,.0f} MiB |")


def _seconds(runs: Sequence[tuple[float, ...]]) -> str:
    """The median wall time of the runs, and their range if more than one."""
    times = sorted(run[0] for run in runs)
    if len(times) == 1:
        return f"{times[0]:.1f}"
    return f"{statistics.median(times):.2f} ({times[0]:.2f}-{times[-1]:.2f})"


def _hugo_version() -> str:
    text = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout
    return text.split()[1].split("+")[0] if text else ""


if __name__ == "__main__":
    main()
