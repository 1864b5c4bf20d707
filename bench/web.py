"""Benchmark of the web side: `seedfeeds web` against nginx serving the same feeds/ folder.

    python bench/web.py [--duration 10] [--rounds 3] [--gunicorn]

Builds a site whose all.atom holds 50 entries, starts `seedfeeds web` (what `serve`
uses) and nginx with deploy/nginx.conf (its feeds path, upstream and port replaced by
temporary ones) on free 127.0.0.1 ports, and runs wrk with 2 threads and 32 connections
against /all.atom: plain, with If-None-Match (304), and, for information, as feed readers
ask for it (Accept-Encoding: gzip). Each server and path is measured
``--rounds`` times, interleaved, and the median run is reported: the machine may be
shared. Prints a markdown table of requests per second, p99 latency, the share of
nginx's rate and the server's CPU time per request, then the targets: seedfeeds at
least 5% of nginx's rate on both paths, with p99 under 20 ms.

Needs wrk and nginx (Debian: apt-get install wrk nginx). Traffic goes to 127.0.0.1 only,
and every run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support.processes import free_port  # noqa: E402

NGINX_CONF = HERE.parent / "deploy" / "nginx.conf"
SEEDFEEDS = str(Path(sys.executable).with_name("seedfeeds"))
URL_PATH = "/all.atom"
THREADS, CONNECTIONS = 2, 32
SHARE_TARGET, P99_TARGET_MS = 0.05, 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """One wrk run against one server and path."""

    rps: float
    p99_ms: float
    requests: int
    errors: int
    cpu_us: float  # server CPU time per request


@dataclass(frozen=True)
class Target:
    name: str
    port: int
    pids: Callable[[], list[int]]  # the server's processes, for CPU time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server and path")
    parser.add_argument("--gunicorn", action="store_true",
                        help="also measure gunicorn (2 gthread workers) for the web-only role")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install wrk nginx)")
    with tempfile.TemporaryDirectory(prefix="seedfeeds-bench-web-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        os.chmod(root, 0o755)  # nginx workers run as another user
        feeds = build_site(root)
        targets = [stack.enter_context(seedfeeds_web(feeds))]
        targets.append(stack.enter_context(nginx(root, feeds, targets[0].port)))
        if args.gunicorn:
            targets.append(stack.enter_context(gunicorn(root, feeds)))
        results = measure(targets, args.duration, args.rounds)
    print_report(results, args, load_before)


# --- the site and the servers --------------------------------------------------------

def build_site(root: Path) -> Path:
    """600 generated articles, so that all.atom holds the 50 entries a feed keeps."""
    seeds, feeds = root / "seeds", root / "feeds"
    subprocess.run([sys.executable, str(HERE / "make_corpus.py"), str(seeds), "--articles",
                    "600", "--files", "6", "--tags", "30", "--seed", "1"],
                   check=True, capture_output=True)
    subprocess.run([SEEDFEEDS, "build", "--seeds", str(seeds), "--feeds", str(feeds),
                    "--state", str(root / "state.sqlite")], check=True, capture_output=True)
    entries = (feeds / "all.atom").read_text(encoding="utf-8").count("<entry>")
    assert entries == 50, f"all.atom has {entries} entries"
    return feeds


@contextmanager
def started(name: str, command: list[str], port: int, log: Path,
            pids: Callable[[subprocess.Popen[bytes]], list[int]],
            env: dict[str, str] | None = None) -> Iterator[Target]:
    """Run ``command`` until the block ends; ready once it answers on ``port``."""
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    try:
        wait_ready(port, process, log)
        yield Target(name, port, lambda: pids(process))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{URL_PATH}", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"server on port {port} did not answer:\n{log.read_text(errors='replace')}")


def seedfeeds_web(feeds: Path) -> AbstractContextManager[Target]:
    port = free_port()
    command = [SEEDFEEDS, "web", "--feeds", str(feeds), "--host", "127.0.0.1",
               "--port", str(port)]
    return started("seedfeeds web", command, port, feeds.parent / "web.log",
                   lambda process: [process.pid])


def nginx(root: Path, feeds: Path, web_port: int) -> AbstractContextManager[Target]:
    """nginx with deploy/nginx.conf, its production paths and ports replaced."""
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(adapt_nginx_conf(NGINX_CONF.read_text(encoding="utf-8"), feeds, port,
                                     web_port), encoding="utf-8")
    command = ["nginx", "-p", f"{root}/", "-c", str(conf),
               "-g", f"daemon off; pid {root}/nginx.pid;"]
    return started("nginx", command, port, root / "nginx.log",
                   lambda process: [process.pid, *children(process.pid)])


def adapt_nginx_conf(text: str, feeds: Path, port: int, web_port: int) -> str:
    replacements = (("root /srv/seedfeeds/feeds;", f"root {feeds};"),
                    ("server web:8080;", f"server 127.0.0.1:{web_port};"),
                    ("listen 80;", f"listen 127.0.0.1:{port};"))
    for production, local in replacements:
        if production not in text:
            sys.exit(f"deploy/nginx.conf no longer contains {production!r}")
        text = text.replace(production, local)
    return text


def gunicorn(root: Path, feeds: Path) -> AbstractContextManager[Target]:
    """gunicorn, 2 worker processes of 4 threads: only possible for the web-only role."""
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        sys.exit("gunicorn is not installed (pip install gunicorn)")
    port = free_port()
    (root / "bench_app.py").write_text(
        "from service.config import load_settings\nfrom service.web.app import create_app\n"
        "app = create_app(load_settings())\n", encoding="utf-8")
    command = [str(Path(sys.executable).with_name("gunicorn")), "--pythonpath", str(root),
               "-b", f"127.0.0.1:{port}", "-k", "gthread", "-w", "2", "--threads", "4",
               "bench_app:app"]
    return started("gunicorn (2x4)", command, port, root / "gunicorn.log",
                   lambda process: [process.pid, *children(process.pid)],
                   env={"SEEDFEEDS_FEEDS": str(feeds)})


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


# --- measuring ---------------------------------------------------------------------

def measure(targets: list[Target], duration: int,
            rounds: int) -> dict[tuple[str, str], Run]:
    """The median run (by requests per second) of each server and path."""
    runs: dict[tuple[str, str], list[Run]] = {}
    for _ in range(rounds):
        for target in targets:
            url = f"http://127.0.0.1:{target.port}{URL_PATH}"
            for path, headers in (("plain", {}), ("gzip", {"Accept-Encoding": "gzip"}),
                                  ("304", {"If-None-Match": etag(url)})):
                runs.setdefault((target.name, path), []).append(
                    wrk(url, headers, duration, target.pids))
    return {key: sorted(found, key=lambda r: r.rps)[len(found) // 2]
            for key, found in runs.items()}


def etag(url: str) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5) as r:
        return r.headers["ETag"]


def wrk(url: str, headers: dict[str, str], duration: int,
        pids: Callable[[], list[int]]) -> Run:
    command = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{duration}s",
               "--latency", *(part for k, v in headers.items() for part in ("-H", f"{k}: {v}")),
               url]
    processes = pids()
    before = cpu_seconds(processes)
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         timeout=duration + 30).stdout
    used = cpu_seconds(processes) - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return Run(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
               p99_ms=latency_ms(re.search(r"^\s*99%\s+(\S+)", out, re.MULTILINE).group(1)),  # type: ignore[union-attr]
               requests=requests, errors=errors, cpu_us=used / max(requests, 1) * 1e6)


def latency_ms(text: str) -> float:
    """wrk prints 812.00us, 1.52ms, 1.02s or 1.50m."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if found is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    number, unit = found.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


# --- the report --------------------------------------------------------------------

def print_report(results: dict[tuple[str, str], Run], args: argparse.Namespace,
                 load_before: float) -> None:
    cores = os.cpu_count() or 1
    print(f"wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s {URL_PATH} (50 entries), "
          f"median of {args.rounds} run(s), {cores} cores, load average "
          f"{load_before:.1f} before the run\n")
    if load_before > cores / 2:
        print("warning: other processes were busy before the run; latencies are theirs "
              "as much as the servers'\n")
    print("| server | path | requests/s | p99 | share of nginx | CPU per request | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for (name, path), run in results.items():
        share = run.rps / results[("nginx", path)].rps
        print(f"| {name} | {path} | {run.rps:,.0f} | {run.p99_ms:.1f} ms | {share:.1%} | "
              f"{run.cpu_us:,.0f} µs | {run.errors} |")
    print()
    for path in ("plain", "304"):
        ours, theirs = results[("seedfeeds web", path)], results[("nginx", path)]
        share = ours.rps / theirs.rps
        verdict = "met" if share >= SHARE_TARGET and ours.p99_ms < P99_TARGET_MS else "MISSED"
        print(f"target {path}: {share:.1%} of nginx (>= {SHARE_TARGET:.0%}), p99 "
              f"{ours.p99_ms:.1f} ms (< {P99_TARGET_MS:g} ms): {verdict}")


if __name__ == "__main__":
    main()
