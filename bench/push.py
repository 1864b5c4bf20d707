"""Benchmark WebSub pushes: from a new seed file's rename into seeds/ to the hub's POST
arriving at each subscriber, for 1, 100 and 1,000 subscribers.

    python bench/push.py [--articles 100000 --files 1000 --drops 20
                          --subscribers 1,100,1000 --hosts 100 --single-host 1000
                          --reply-delay 0]

Starts `seedfeeds serve` (default debounce, private callbacks allowed) on 127.0.0.1
with the corpus of bench/corpus.py, its seeds and feeds in /dev/shm as bench/live.py
has them, its state and the hub's database on disk (``--state-dir``), where the hub's
synchronous=FULL commits cost what they cost in production.

Each case has a tag of its own, so an earlier case's subscribers are never pushed to:
a warm-up file of 50 articles makes the tag's Atom feed (a full feed of realistic size,
about what any tag feed is), then the case's subscribers subscribe to it through
POST /websub, each with a secret (the pushes are signed, and the subscriber checks the
signature), and the bench waits until the hub's database holds them all. Then each
drop writes a one-article file of that tag to a dotted temp name in seeds/ (which the
watcher ignores), takes t0 = time.time() and renames it into place; a subscriber's
push counts once its body holds the new article's unique title. The next drop waits
for all of them (or 30 s).

Subscribers: ``--subscribers`` counts, spread round-robin over up to ``--hosts``
callback hosts (127.0.0.2, 127.0.0.3, ...: all of 127/8 is loopback on Linux, and the
hub limits pushes per callback host), as readers are spread over many instances; and
``--single-host`` subscribers on one host (one reader instance), where that limit
binds. The callbacks are one asyncio HTTP server process per case, apart from the
bench and from serve, so neither's GIL delays the arrival it records: it takes
time.time() when a request's body is complete (the system's clock, as t0 and the
manifest's mtime are), answers 200 (``--reply-delay`` ms later: a reader across the
Internet, whose round trips and own work hold a push's worker that long) and closes.
Its own handling time per request and its CPU use over each drop are reported, to show
it is not what is measured.

Reported per case, over the drops: latency to the first and to the last subscriber
(all delivered), p50/p95/max; deliveries per second (subscribers over the time from
the manifest change to the last push); the hub's own share, from the manifest
(``feeds/index.json``, its mtime: the kernel's coarse clock, up to a tick early) changing
to the first and last push; the publish passes' own durations from status.json; serve's
CPU time per drop; and any answer to a subscription request other than 202 (429 from a
per-client rate limit, 503), which are waited out as Retry-After says.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import http.client
import json
import multiprocessing
import multiprocessing.connection
import os
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from service.identity import slugify  # noqa: E402

from corpus import corpus  # noqa: E402
from support.liveserver import LiveServer  # noqa: E402

BASE = "http://news.test"  # LiveServer's --base-url
DROP_TIMEOUT = 30.0  # seconds a drop waits for every subscriber's push
VERIFY_TIMEOUT = 300.0  # seconds for every subscription to be verified
PAUSE = 0.3  # seconds between one drop's last push and the next drop
FEED_ENTRIES = 50  # the warm-up file's articles: a full feed (--entries' default)
CASE_NAMES = ("One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
WORDS = ("harbour", "ferry", "council", "market", "river", "school", "festival", "bridge",
         "station", "museum", "report", "season", "weather", "crew", "volunteers", "plan",
         "opened", "announced", "expected")


# --- the subscribers' process -------------------------------------------------------------


def callback_process(channel: multiprocessing.connection.Connection, hosts: list[str],
                     secrets: list[bytes], delay: float) -> None:
    """The subscribers of one case: a server on each of ``hosts``, callback ``/cb/<i>``
    for subscriber i with secret ``secrets[i]``, answering ``delay`` seconds after a
    request came; driven over ``channel``."""
    asyncio.run(_Callbacks(channel, hosts, secrets, delay).run())


class _Callbacks:
    """What the subscribers received. Commands from the bench: ("expect", needle, count)
    starts a drop, ("verified",) asks how many verifications were answered, ("report",)
    asks for the drop's arrivals so far, ("stop",) ends. A drop's arrivals are sent
    unasked once every subscriber has the needle."""

    def __init__(self, channel: multiprocessing.connection.Connection, hosts: list[str],
                 secrets: list[bytes], delay: float) -> None:
        self.channel, self.hosts, self.secrets, self.delay = channel, hosts, secrets, delay
        self.verified: set[int] = set()
        self.needle = b""
        self.expected = 0
        self.arrivals: dict[int, float] = {}
        self.counts: Counter[str] = Counter()  # stale, repeated, bad signature, ...
        self.handling: list[float] = []  # seconds from a request's first byte to the answer
        self.cpu = 0.0
        self.reported = False
        self.done: asyncio.Future[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.done = loop.create_future()
        servers, ports = [], []
        for host in self.hosts:
            server = await loop.create_server(lambda: _Http(self), host, 0, backlog=1024,
                                              reuse_address=True)
            servers.append(server)
            ports.append(server.sockets[0].getsockname()[1])
        loop.add_reader(self.channel.fileno(), self._command)
        self.channel.send(("ports", ports))
        await self.done
        for server in servers:
            server.close()

    def _command(self) -> None:
        try:
            message = self.channel.recv()
        except EOFError:
            message = ("stop",)
        if message[0] == "expect":
            self.needle, self.expected = message[1], message[2]
            self.arrivals, self.counts, self.handling = {}, Counter(), []
            self.cpu, self.reported = _cpu_seconds(), False
            self.channel.send(("ready",))
        elif message[0] == "verified":
            self.channel.send(("verified", len(self.verified)))
        elif message[0] == "report":
            self._report()
        elif self.done is not None and not self.done.done():
            self.done.set_result(None)

    def _report(self) -> None:
        self.reported = True
        self.channel.send(("arrivals", dict(self.arrivals), dict(self.counts),
                           list(self.handling), _cpu_seconds() - self.cpu))

    def handle(self, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes,
               arrived: float) -> tuple[int, bytes]:
        """The answer to one complete request."""
        parts = urlsplit(target.decode("latin-1"))
        try:
            index = int(parts.path.removeprefix("/cb/"))
            secret = self.secrets[index]
        except (ValueError, IndexError):
            self.counts["unknown callback"] += 1
            return 404, b""
        if method == b"GET":
            params = dict(parse_qsl(parts.query))
            if params.get("hub.mode") == "subscribe":
                self.verified.add(index)
            return 200, params.get("hub.challenge", "").encode()
        if method != b"POST":
            self.counts[f"{method.decode()} requests"] += 1
            return 405, b""
        signature = headers.get(b"x-hub-signature", b"").decode()
        if signature != "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest():
            self.counts["bad signature"] += 1
        if not self.needle or self.needle not in body:
            self.counts["stale pushes"] += 1  # an older feed, or between drops
        elif index in self.arrivals:
            self.counts["repeated pushes"] += 1
        else:
            self.arrivals[index] = arrived
            if len(self.arrivals) == self.expected and not self.reported:
                asyncio.get_running_loop().call_soon(self._report)
        return 200, b""


class _Http(asyncio.Protocol):
    """HTTP/1.1 enough for a hub: a request with a Content-Length body, answered and
    closed (the hub sends Connection: close)."""

    def __init__(self, owner: _Callbacks) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.head: list[bytes] | None = None
        self.length = 0
        self.began = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        if not self.began:
            self.began = time.perf_counter()
        self.buffer += data
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536:
                    self.transport.close()
                return
            self.head = bytes(self.buffer[:end]).split(b"\r\n")
            del self.buffer[:end + 4]
            for line in self.head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    self.length = int(value)
        if len(self.buffer) < self.length:
            return
        arrived = time.time()
        method, target = self.head[0].split(b" ")[:2]
        headers = {}
        for line in self.head[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        status, body = self.owner.handle(method, target, headers,
                                         bytes(self.buffer[:self.length]), arrived)
        answer = (b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                  % (status, len(body), body))
        self.owner.handling.append(time.perf_counter() - self.began)
        if self.owner.delay and method == b"POST":
            asyncio.get_running_loop().call_later(self.owner.delay, self._answer, answer)
        else:
            self._answer(answer)

    def _answer(self, answer: bytes) -> None:
        assert self.transport is not None
        self.transport.write(answer)
        self.transport.close()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the bench's side -----------------------------------------------------------------------


class Callbacks:
    """The subscriber process of one case, seen from the bench."""

    def __init__(self, hosts: list[str], count: int, delay: float) -> None:
        self.secrets = [f"secret-{i}-{uuid.uuid4().hex}".encode() for i in range(count)]
        self.channel, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=callback_process, args=(theirs, hosts, self.secrets, delay), daemon=True)
        self.process.start()
        reply = self.channel.recv()
        ports = dict(zip(hosts, reply[1], strict=True))
        self.urls = [f"http://{hosts[i % len(hosts)]}:{ports[hosts[i % len(hosts)]]}/cb/{i}"
                     for i in range(count)]

    def verified(self) -> int:
        self.channel.send(("verified",))
        return int(self.channel.recv()[1])

    def expect(self, needle: bytes) -> None:
        self.channel.send(("expect", needle, len(self.urls)))
        assert self.channel.recv() == ("ready",)

    def arrivals(self, timeout: float) -> tuple[dict[int, float], dict[str, int], list[float],
                                                float]:
        """The drop's arrivals once all came, or what came within ``timeout``."""
        if not self.channel.poll(timeout):
            self.channel.send(("report",))
        reply = self.channel.recv()
        while self.channel.poll(0.05):  # a report asked for as the last one came
            reply = self.channel.recv()
        return reply[1], reply[2], reply[3], reply[4]

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.send(("stop",))
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()


@dataclass
class Case:
    label: str
    subscribers: int
    hosts: int
    tag: str = ""
    answers: Counter[int] = field(default_factory=Counter)
    subscribe_seconds: float = 0.0
    verify_seconds: float = 0.0
    first: list[float] = field(default_factory=list)  # seconds from t0, per complete drop
    last: list[float] = field(default_factory=list)
    hub_first: list[float] = field(default_factory=list)  # seconds from the manifest
    hub_last: list[float] = field(default_factory=list)
    to_manifest: list[float] = field(default_factory=list)  # t0 to the manifest's mtime
    rates: list[float] = field(default_factory=list)
    passes: list[float] = field(default_factory=list)  # the publish passes' seconds
    serve_cpu: list[float] = field(default_factory=list)  # serve's CPU seconds per drop
    serve_sys: list[float] = field(default_factory=list)  # of which in the kernel
    callback_cpu: list[float] = field(default_factory=list)  # the subscribers' share of
    handling: list[float] = field(default_factory=list)  # the window, and per request
    counts: Counter[str] = field(default_factory=Counter)
    complete: int = 0
    drops: int = 0
    missing: list[int] = field(default_factory=list)


def loopback_hosts(count: int) -> list[str]:
    """``count`` loopback addresses from 127.0.0.2 on, skipping .0, .1 and .255."""
    hosts, number = [], 0
    while len(hosts) < count:
        third, fourth = divmod(number + 2, 256)
        number += 1
        if fourth not in (0, 1, 255):
            hosts.append(f"127.0.{third}.{fourth}")
    return hosts


def text_of(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def article(rng: random.Random, title: str, tag: str) -> str:
    """One article in the corpus' format: header twice, a blank line, the body."""
    header = f"{title} {tag} | Bench"
    return f"{header}\n{header}\n\n{text_of(rng, 140)}\n"


def move_in(seeds: Path, name: str, text: str) -> float:
    """Write ``text`` to a dotted temp name the watcher ignores, then rename it to
    ``name`` in seeds/; time.time() right before the rename."""
    temp = seeds / f".{name}.tmp"
    temp.write_text(text, encoding="utf-8")
    began = time.time()
    os.rename(temp, seeds / name)
    return began


def serve_cpu(pid: int) -> tuple[float, float]:
    """The CPU seconds process ``pid`` used so far, in user mode and in the kernel."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def last_pass(server: LiveServer) -> tuple[int, float]:
    """How many passes status.json lists and the last one's seconds."""
    history = server.status().get("history", [])
    return len(history), float(history[-1]["seconds"]) if history else 0.0


def subscribe(server: LiveServer, case: Case, topic: str, callbacks: Callbacks,
              database: Path) -> None:
    """Every callback subscribed to ``topic`` over one keep-alive connection; an answer
    other than 202 is counted and, for 429 and 503, waited out as Retry-After says."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    began = time.perf_counter()
    try:
        for callback, secret in zip(callbacks.urls, callbacks.secrets, strict=True):
            body = urlencode({"hub.mode": "subscribe", "hub.topic": topic,
                              "hub.callback": callback, "hub.secret": secret.decode()})
            while True:
                try:
                    connection.request("POST", "/websub", body, {
                        "Content-Type": "application/x-www-form-urlencoded"})
                    response = connection.getresponse()
                    text = response.read().decode("utf-8", "replace").strip()
                except (OSError, http.client.HTTPException):
                    connection.close()  # the server closed an idle keep-alive: again
                    continue
                case.answers[response.status] += 1
                if response.status == 202:
                    break
                if response.status not in (429, 503):
                    sys.exit(f"subscribing {callback}: {response.status} {text}")
                wait = float(response.headers.get("Retry-After") or 1)
                print(f"  {response.status} ({text}); waiting {wait:g} s as Retry-After "
                      "says", file=sys.stderr)
                time.sleep(min(wait, 60.0))
    finally:
        connection.close()
    case.subscribe_seconds = time.perf_counter() - began
    deadline = time.monotonic() + VERIFY_TIMEOUT
    while (held := subscriptions(database, topic)) < case.subscribers:
        if time.monotonic() > deadline:
            sys.exit(f"{case.label}: {held} of {case.subscribers} subscriptions verified "
                     f"within {VERIFY_TIMEOUT:g} s ({callbacks.verified()} GETs answered)")
        time.sleep(0.05)
    case.verify_seconds = time.perf_counter() - began


def subscriptions(database: Path, topic: str) -> int:
    """The hub's verified subscriptions to ``topic``, read-only."""
    try:
        db = sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT count(*) FROM subscriptions WHERE topic = ?",
                                  (topic,)).fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def run_case(server: LiveServer, case: Case, number: int, args: argparse.Namespace,
             database: Path) -> None:
    rng = random.Random(number)
    case.tag = f"Push Case {CASE_NAMES[number]}"
    slug = slugify(case.tag)
    topic = f"{BASE}/tags/{slug}.atom"
    print(f"{case.label}: {case.subscribers} subscribers on {case.hosts} callback host(s), "
          f"topic {topic}", file=sys.stderr)
    warm = "\n".join(article(rng, f"Warm-up article {n} of case {number} is here!", case.tag)
                     for n in range(FEED_ENTRIES))
    move_in(server.seeds, f"push-warm-{number}.txt", warm)
    deadline = time.monotonic() + 60
    while server.get(f"/tags/{slug}.atom").status != 200:
        if time.monotonic() > deadline:
            sys.exit(f"the tag {case.tag} was not published within 60 s")
        time.sleep(0.05)
    time.sleep(0.5)  # the hub sees the new topic (not news) before anyone subscribes
    callbacks = Callbacks(loopback_hosts(case.hosts), case.subscribers, args.reply_delay / 1000)
    try:
        subscribe(server, case, topic, callbacks, database)
        print(f"  subscribed in {case.subscribe_seconds:.1f} s, all verified after "
              f"{case.verify_seconds:.1f} s; answers {dict(case.answers)}", file=sys.stderr)
        time.sleep(0.5)
        manifest = server.feeds / "index.json"
        assert server.process is not None
        for n in range(args.drops):
            token = uuid.uuid4().hex[:12]
            title = f"Push probe {token} is here!"
            callbacks.expect(title.encode())
            before, cpu = os.stat(manifest).st_mtime_ns, serve_cpu(server.process.pid)
            listed, _ = last_pass(server)
            began = move_in(server.seeds, f"push-{number}-{n:03d}.txt",
                            article(rng, title, case.tag))
            arrivals, counts, handling, their_cpu = callbacks.arrivals(DROP_TIMEOUT)
            changed = os.stat(manifest).st_mtime_ns
            user, kernel = serve_cpu(server.process.pid)
            case.serve_cpu.append(user + kernel - sum(cpu))
            case.serve_sys.append(kernel - cpu[1])
            case.drops += 1
            case.counts.update(counts)
            case.handling.extend(handling)
            now_listed, seconds = last_pass(server)
            case.passes.append(seconds)
            if now_listed != listed + 1 and now_listed < 50:
                case.counts["drops published in more than one pass"] += 1
            if len(arrivals) < case.subscribers or changed == before:
                case.missing.append(case.subscribers - len(arrivals))
                print(f"  drop {n}: {len(arrivals)} of {case.subscribers} pushed within "
                      f"{DROP_TIMEOUT:g} s", file=sys.stderr)
                time.sleep(PAUSE)
                continue
            times = sorted(arrivals.values())
            mtime = changed / 1e9
            case.complete += 1
            case.first.append(times[0] - began)
            case.last.append(times[-1] - began)
            case.hub_first.append(times[0] - mtime)
            case.hub_last.append(times[-1] - mtime)
            case.to_manifest.append(mtime - began)
            case.rates.append(case.subscribers / max(times[-1] - mtime, 1e-6))
            case.callback_cpu.append(their_cpu / max(times[-1] - began, 1e-6))
            time.sleep(PAUSE)
    finally:
        callbacks.stop()
    print(f"  first {ms(pct(case.first, .5))} ms, last {ms(pct(case.last, .5))} ms (p50)",
          file=sys.stderr)


def pct(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile, nearest rank (NaN of nothing)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return "-" if value != value else f"{value * 1000:.0f}"


def tables(cases: list[Case], args: argparse.Namespace, load: tuple[float, float]) -> None:
    end_to_end = ["case", "subscribers", "hosts", "drops delivered", "first p50 ms",
                  "first p95 ms", "first max ms", "last p50 ms", "last p95 ms", "last max ms",
                  "deliveries/s"]
    rows = [[c.label, f"{c.subscribers:,}", f"{c.hosts:,}", f"{c.complete}/{c.drops}",
             ms(pct(c.first, .5)), ms(pct(c.first, .95)), ms(pct(c.first, 1)),
             ms(pct(c.last, .5)), ms(pct(c.last, .95)), ms(pct(c.last, 1)),
             f"{statistics.median(c.rates):,.0f}" if c.rates else "-"] for c in cases]
    hub = ["case", "rename to manifest p50 ms", "publish pass p50 ms",
           "hub first p50 ms", "hub first p95 ms", "hub first max ms", "hub last p50 ms",
           "hub last p95 ms", "hub last max ms", "serve CPU ms/drop (kernel)"]
    hub_rows = [[c.label, ms(pct(c.to_manifest, .5)), ms(pct(c.passes, .5)),
                 ms(pct(c.hub_first, .5)), ms(pct(c.hub_first, .95)), ms(pct(c.hub_first, 1)),
                 ms(pct(c.hub_last, .5)), ms(pct(c.hub_last, .95)), ms(pct(c.hub_last, 1)),
                 f"{ms(pct(c.serve_cpu, .5))} ({ms(pct(c.serve_sys, .5))})"] for c in cases]
    title = (f"{args.articles:,} articles in {args.files:,} files, {args.drops} drops per "
             f"case, serve's default settings, callbacks answering "
             + (f"{args.reply_delay:g} ms after a push came" if args.reply_delay else "at once")
             + f", {os.cpu_count()} cores, load average "
             f"{load[0]:.2f} before / {load[1]:.2f} after")
    print(f"\n{title}\n\nFrom the rename into seeds/ (t0) to the POST at the subscriber:")
    plain(end_to_end, rows)
    print("\nThe hub's share, from the manifest changing to the POST (and the publish before "
          "it):")
    plain(hub, hub_rows)
    print("\nSubscribing and the subscribers' side:")
    for c in cases:
        others = {k: v for k, v in c.answers.items() if k != 202}
        print(f"  {c.label}: {c.subscribers:,} subscribe requests in "
              f"{c.subscribe_seconds:.1f} s, all verified after {c.verify_seconds:.1f} s, "
              f"answers other than 202: {others or 'none'}; callback handling p50 "
              f"{pct(c.handling, .5) * 1e6:.0f} us, max {pct(c.handling, 1) * 1e3:.1f} ms, "
              f"callback CPU {statistics.median(c.callback_cpu or [0]) * 100:.0f} % of a core "
              f"over a drop; {dict(c.counts) or 'no stale, repeated or badly signed push'}"
              + (f"; missing per incomplete drop: {c.missing}" if c.missing else ""))
    print(f"\nMarkdown ({title}):\n")
    markdown(end_to_end, rows)
    print()
    markdown(hub, hub_rows)


def plain(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                        for i, (x, w) in enumerate(zip(row, widths, strict=True))))


def markdown(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--subscribers", default="1,100,1000",
                        help="subscriber counts, spread over --hosts callback hosts")
    parser.add_argument("--hosts", type=int, default=100,
                        help="most callback hosts the subscribers are spread over")
    parser.add_argument("--single-host", type=int, default=1000,
                        help="subscribers of the case on one callback host (0: none)")
    parser.add_argument("--reply-delay", type=float, default=0.0,
                        help="ms a callback waits before answering a push (a reader across "
                        "the Internet: its round trips and its own work)")
    parser.add_argument("--state-dir", default=None,
                        help="where serve's state and the hub's database go (default: a "
                        "temp folder on disk, not /dev/shm)")
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args()
    counts = [int(x) for x in args.subscribers.split(",") if x.strip()]
    cases = [Case(f"{n:,} on {min(n, args.hosts):,} host{'s' * (min(n, args.hosts) > 1)}", n,
                  min(n, args.hosts)) for n in counts]
    if args.single_host:
        cases.append(Case(f"{args.single_host:,} on 1 host", args.single_host, 1))
    assert len(cases) <= len(CASE_NAMES)
    seeds = corpus(args.articles, args.files, 200)
    work = Path(tempfile.mkdtemp(prefix="seedfeeds-push-",
                                 dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    state = Path(tempfile.mkdtemp(prefix="seedfeeds-push-state-", dir=args.state_dir))
    os.environ["SEEDFEEDS_WEBSUB_ALLOW_PRIVATE"] = "true"
    load_before = os.getloadavg()[0]
    try:
        shutil.copytree(seeds, work / "seeds")
        print(f"corpus: {args.articles:,} articles in {args.files:,} files; starting "
              "seedfeeds serve (its first build takes a while) ...", file=sys.stderr)
        server = LiveServer(work, "--state", str(state / "state.sqlite"))
        with server.start(timeout=600):
            for number, case in enumerate(cases):
                run_case(server, case, number, args, state / "state.sqlite.hub.sqlite")
        tables(cases, args, (load_before, os.getloadavg()[0]))
        if args.json:
            Path(args.json).write_text(json.dumps(
                [{**{k: v for k, v in vars(c).items() if k != "handling"},
                  "handling_p50": pct(c.handling, .5), "handling_max": pct(c.handling, 1)}
                 for c in cases], default=_jsonable, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def _jsonable(value: Any) -> Any:
    return dict(value) if isinstance(value, Counter) else str(value)


if __name__ == "__main__":
    main()
