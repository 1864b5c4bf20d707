"""Benchmark the bucket mirror: a cold upload of the whole site, and drop to visible.

    python bench/storage.py [--articles 100000 --files 1000 --drops 50 --workers 16]

Runs SeaweedFS (``weed mini``, as the tests do) on 127.0.0.1 with its data in /dev/shm,
then:

1. builds the corpus without a bucket, and times ``seedfeeds sync`` of that site into
   an empty bucket: the cold upload, objects a second (record, listing and check
   included);
2. times ``seedfeeds build --publish-to`` of the same corpus into another empty bucket:
   the whole cold publish, the site's build and its upload;
3. starts ``seedfeeds serve --publish-to`` on the built site, and drops new one-article
   files one at a time, polling the article's tag feed in the bucket (GET, as a CDN
   would fetch it) until the entry is there: drop to object visible, p50 and p99, with
   the publish pass's own share (from status.json) beside it.

Targets (issue 14): cold upload at least 500 objects/s; drop to visible p50 <= 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from corpus import corpus  # noqa: E402
from support.liveserver import LiveServer  # noqa: E402
from support.processes import SEEDFEEDS  # noqa: E402
from support.seaweed import Seaweed, client, environment  # noqa: E402

POLL = 0.005  # seconds between two GETs of the probe's feed
TIMEOUT = 30.0


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:2])} failed ({result.returncode}):\n{result.stderr}")
    return time.perf_counter() - started, result.stdout


def mirrored(feeds: Path) -> dict:
    return json.loads((feeds / "mirror.json").read_bytes())


def cold(work: Path, seeds: Path, env: dict[str, str], workers: int) -> dict[str, float]:
    """Seconds and objects of a sync of a built site, and of a build with the bucket."""
    s3 = client(env["AWS_ENDPOINT_URL"])
    for bucket in ("sync", "build", "live"):
        s3.create_bucket(Bucket=f"bench-{bucket}")
    site = ["--seeds", str(seeds), "--base-url", "http://news.test"]
    plain, _ = timed([*SEEDFEEDS, "build", *site, "--feeds", str(work / "plain"),
                      "--state", str(work / "plain.sqlite")], env)
    synced, _ = timed([*SEEDFEEDS, "sync", "--feeds", str(work / "plain"), "--publish-to",
                       "s3://bench-sync/site", "--publish-workers", str(workers)], env)
    objects = mirrored(work / "plain")["objects"]
    shutil.copytree(seeds, work / "live" / "seeds")  # serve's own copy, for the drops
    site[1] = str(work / "live" / "seeds")
    both, _ = timed([*SEEDFEEDS, "build", *site, "--feeds", str(work / "live" / "feeds"),
                     "--state", str(work / "live" / "state.sqlite"), "--publish-to",
                     "s3://bench-live/site", "--publish-workers", str(workers)], env)
    upload = mirrored(work / "live" / "feeds")["last_sync"]["seconds"]
    return {"objects": objects, "plain": plain, "sync": synced, "build": both,
            "upload": upload}


def drops(work: Path, env: dict[str, str], count: int) -> tuple[list[float], list[float]]:
    """Drop to object visible, and the publish passes' own seconds, for ``count`` drops."""
    s3 = client(env["AWS_ENDPOINT_URL"])
    server = LiveServer(work / "live", "--publish-to", "s3://bench-live/site",
                        "--websub", "false")
    latencies: list[float] = []
    with server.start(timeout=600):
        wait(lambda: mirrored(server.feeds).get("in_sync")
             and server.status().get("last_pass", {}).get("cold") is False, 600)
        before = int(server.status()["publish_seconds"]["count"])
        for n in range(count):
            headline = f"Storage probe number {n} is here! Storage Probe | Bench"
            with open(server.seeds / f"probe-{n:03d}.txt", "w", encoding="utf-8") as f:
                f.write(f"{headline}\n{headline}\n\nA new article, dropped to be timed.\n")
            closed = time.perf_counter()
            needle = f"Storage probe number {n} is here!".encode()
            while not visible(s3, needle):
                if time.perf_counter() - closed > TIMEOUT:
                    sys.exit(f"drop {n} was not in the bucket within {TIMEOUT:g} s")
                time.sleep(POLL)
            latencies.append(time.perf_counter() - closed)
            time.sleep(0.3)
        time.sleep(1)
        status = server.status()
        made = int(status["publish_seconds"]["count"]) - before
        passes = [float(row["seconds"]) for row in status["history"][-made:]] if made else []
    return latencies, passes


def visible(s3: object, needle: bytes) -> bool:
    try:
        body = s3.get_object(Bucket="bench-live",  # type: ignore[attr-defined]
                             Key="site/tags/storage-probe.atom")["Body"].read()
    except Exception:  # not there yet
        return False
    return needle in body


def wait(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            sys.exit("the server did not get in sync with its bucket")
        time.sleep(0.1)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--drops", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    seeds = corpus(args.articles, args.files, 200)
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="seedfeeds-storage-", dir=shm) as folder:
        work = Path(folder)
        store = Seaweed(work / "seaweed").start()
        try:
            env = environment(store.s3)
            os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
            print(f"corpus: {args.articles:,} articles in {args.files:,} files; SeaweedFS "
                  f"on {store.s3}", file=sys.stderr)
            figures = cold(work, seeds, env, args.workers)
            latencies, passes = drops(work, env, args.drops)
        finally:
            store.stop()
    report(args, figures, latencies, passes)


def report(args: argparse.Namespace, figures: dict[str, float], latencies: list[float],
           passes: list[float]) -> None:
    objects = figures["objects"]
    print(f"\n{args.articles:,} articles ({args.files:,} files, 200 tags), "
          f"{objects:,.0f} objects, {args.workers} upload workers, SeaweedFS on 127.0.0.1:\n")
    print("| cold publish | seconds | objects/s |")
    print("|---|---:|---:|")
    print(f"| `seedfeeds build` without a bucket | {figures['plain']:.1f} | - |")
    print(f"| `seedfeeds sync` of that site into an empty bucket | {figures['sync']:.1f} | "
          f"{objects / figures['sync']:,.0f} |")
    print(f"| `seedfeeds build --publish-to` (build and upload) | {figures['build']:.1f} | "
          f"{objects / figures['build']:,.0f} |")
    print(f"| of which the upload (mirror.json's last_sync) | {figures['upload']:.1f} | "
          f"{objects / figures['upload']:,.0f} |")
    print(f"\n{args.drops} drops of a one-article file, `seedfeeds serve --publish-to`; "
          "milliseconds:\n")
    print("| | drop to object visible | of which the publish pass |")
    print("|---|---:|---:|")
    for name, pick in (("p50", statistics.median), ("p99", lambda v: percentile(v, 0.99)),
                       ("max", max), ("min", min)):
        print(f"| {name} | {pick(latencies) * 1000:.0f} | "
              f"{pick(passes) * 1000 if passes else float('nan'):.0f} |")
    slowest = max(range(len(latencies)), key=latencies.__getitem__)
    print(f"\n{len(passes)} passes for {len(latencies)} drops; the slowest was drop "
          f"{slowest + 1}, the first ones took "
          + ", ".join(f"{value * 1000:.0f}" for value in latencies[:5]) + " ms")


if __name__ == "__main__":
    main()
