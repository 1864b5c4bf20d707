"""How each figure grows with the size of a site: one corpus after another.

    python bench/scale.py [--sizes 1000,10000,100000,300000] [--huge] [--no-hugo]
                          [--baseline /path/to/an/older/checkout] [--out /dev/shm/...]

For each corpus (from ../shared/tools/make_corpus.py's copy in bench/, 200 tags, 100
articles a file), in one run:

1. cold build: `seedfeeds build` into a fresh folder, wall time and peak memory of its
   largest process, files and bytes written; Hugo's per-tag RSS build of the same
   corpus beside it (up to 300,000 articles: beyond, Hugo needs more memory than a small
   box has);
2. `seedfeeds serve` on a fresh folder: its resident memory once its first pass is done
   and it answers;
3. the pass of one new 10-article file dropped into its seeds, as status.json reports it;
4. a restart (SIGTERM, then start again): seconds until it answers, and until the first
   pass behind it is done (in the web server's process, so not forked); then its
   resident memory.

``--huge`` adds 1,000,000 articles. Output goes to tmpfs by default, like bench/build.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from build import SEEDFEEDS, Written, cold_hugo, compiled, timed_run, written_in  # noqa: E402
from corpus import corpus  # noqa: E402
from support.processes import free_port  # noqa: E402

NEW_FILE = "".join(f"Breaking story number {n} arrives! Navy | Harbour News\n"
                   f"Breaking story number {n} arrives! Navy | Harbour News\n\n"
                   f"Body of breaking story {n}, with enough words to be an article.\n\n"
                   for n in range(10))


def command(code: Path | None) -> list[str]:
    """How to run seedfeeds: this checkout's, or (``code``) an older checkout's with this
    venv (-m puts the working folder first on sys.path: the checkout's code)."""
    return [str(SEEDFEEDS)] if code is None else [sys.executable, "-m", "service"]


def cold(seeds: Path, out: Path, code: Path | None) -> tuple[float, float, Written]:
    feeds = out / "build" / "feeds"
    seconds, peak = timed_run([*command(code), "build", "--seeds", str(seeds), "--feeds",
                               str(feeds), "--state", str(out / "build" / "state.sqlite")],
                              cwd=code)
    written = written_in(feeds)
    shutil.rmtree(out / "build", ignore_errors=True)
    return seconds, peak, written


class Serve:
    """`seedfeeds serve` on a copy of the seeds, in a folder of its own."""

    def __init__(self, seeds: Path, out: Path, code: Path | None) -> None:
        self.root, self.code = out / "serve", code
        shutil.copytree(seeds, self.root / "seeds")
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start; seconds until /healthz answers 200."""
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [*command(self.code), "serve", "--seeds", str(self.root / "seeds"), "--feeds",
             str(self.root / "feeds"), "--state", str(self.root / "state.sqlite"),
             "--port", str(self.port), "--websub", "false"], cwd=self.code,
            stdout=subprocess.DEVNULL, stderr=(self.root / "serve.log").open("ab"))
        while not self._healthy():
            if self.process.poll() is not None:
                raise SystemExit(f"serve exited; see {self.root / 'serve.log'}")
            time.sleep(0.05)
        return time.perf_counter() - started

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz",
                                        timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def last_pass(self) -> dict[str, object]:
        try:
            return dict(json.loads((self.root / "feeds" / "status.json").read_bytes())
                        .get("last_pass") or {})
        except (OSError, ValueError):
            return {}

    def wait_pass(self, other_than: dict[str, object] | None, timeout: float = 600.0,
                  reading: bool = False, required: bool = True) -> dict[str, object]:
        """The last pass in status.json once it is another than ``other_than`` (and, if
        ``reading``, one that read a file: not the rescan a start makes behind its first
        pass, which finds nothing new); if none comes in time, {} unless ``required``."""
        limit = time.monotonic() + timeout
        while time.monotonic() < limit:
            last = self.last_pass()
            if last and last != other_than and (not reading or last.get("files_read")):
                return last
            time.sleep(0.05)
        if not required:
            return {}
        raise SystemExit("no publish pass came")

    def resident_mib(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)


def measure(articles: int, out: Path, hugo: bool, code: Path | None = None) -> dict[str, str]:
    seeds = corpus(articles, max(10, articles // 100), 200)
    row: dict[str, str] = {"articles": f"{articles:,}" + (f" ({code.name})" if code else "")}
    seconds, peak, (files, size, archive_files, archive_size) = cold(seeds, out, code)
    row["cold build"] = f"{seconds:.1f} s, {peak:,.0f} MiB"
    row["written"] = (f"{files:,} files, {size / 2**20:,.0f} MiB (archives {archive_files:,}, "
                      f"{archive_size / 2**20:,.0f} MiB)")
    found = cold_hugo(seeds, out) if hugo else None
    row["Hugo per-tag RSS"] = f"{found[0]:.1f} s, {found[1]:,.0f} MiB" if found else "-"
    serve = Serve(seeds, out, code)
    patience = max(600.0, articles / 500)  # seconds for a first pass (a million: on disk)
    try:
        serve.start()
        first = serve.wait_pass(None, patience)
        # the rescan a start makes behind its first pass: the new file comes after it
        first = serve.wait_pass(first, timeout=120, required=False) or first
        time.sleep(2)  # the answers of its first polls settle
        row["serve resident"] = f"{serve.resident_mib():,.0f} MiB"
        (serve.root / "seeds" / "breaking.txt").write_text(NEW_FILE, encoding="utf-8")
        new = serve.wait_pass(first, reading=True)
        row["one new file"] = f"{float(str(new['seconds'])) * 1000:.0f} ms"
        serve.stop()
        before = serve.last_pass()
        answering = serve.start()
        since = time.perf_counter()
        restart_pass = serve.wait_pass(before, patience)
        row["restart: answering, first pass"] = (
            f"{answering:.1f} s, {answering + time.perf_counter() - since:.1f} s "
            f"(pass {float(str(restart_pass['seconds'])):.1f} s)")
        time.sleep(2)
        row["resident after restart"] = f"{serve.resident_mib():,.0f} MiB"
    finally:
        serve.stop()
        shutil.rmtree(serve.root, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,300000",
                        help="corpus sizes in articles, comma-separated")
    parser.add_argument("--huge", action="store_true", help="also 1,000,000 articles")
    parser.add_argument("--no-hugo", action="store_true", help="leave Hugo out")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="first measure each size with an older checkout (the before)")
    parser.add_argument("--out", type=Path, default=Path("/dev/shm") if
                        Path("/dev/shm").is_dir() else None,
                        help="where to build (default: a fresh folder on tmpfs)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")] + ([1_000_000] if args.huge else [])
    for code in [ROOT, *([args.baseline] if args.baseline else [])]:
        compiled(code)
    rows = []
    for articles in sizes:
        for code in ([args.baseline.resolve()] if args.baseline else []) + [None]:
            out = Path(tempfile.mkdtemp(prefix="seedfeeds-scale-", dir=args.out))
            try:
                hugo = code is None and not args.no_hugo and articles <= 300_000
                rows.append(measure(articles, out, hugo, code))
            finally:
                shutil.rmtree(out, ignore_errors=True)
            print(rows[-1], file=sys.stderr)
    print(f"\n{os.cpu_count()} cores; 200 tags, 100 articles a file\n")
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---:|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(row.values()) + " |")


if __name__ == "__main__":
    main()
