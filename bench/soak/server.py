"""The server process: `seedfeeds serve` started, killed with SIGKILL and
restarted on one port, its memory and open files sampled, its passes counted."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .plan import Plan
from support.processes import free_port

WARM_UP = 10.0  # s after a start before memory and open files count


@dataclass
class Lifetime:
    """One run of the server process, from start to kill, and its resource samples."""

    pid: int
    started: float
    answering: float | None = None  # first /healthz 200
    healthy: float | None = None  # answering, and this lifetime's first pass is done
    ended: float | None = None
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, rss, fds)
    passes_before: int = 0  # passes status.json counted when this lifetime began

    def warm(self, until: float = float("inf")) -> list[tuple[float, int, int]]:
        """Samples after the warm-up (and before ``until``: the steady load ends)."""
        if self.healthy is None:
            return []
        return [s for s in self.samples if self.healthy + WARM_UP <= s[0] < until]


class Server:
    """`seedfeeds serve` of this run, started, killed and restarted on one port."""

    def __init__(self, workspace: Path, code: Path, plan: Plan, stop: threading.Event) -> None:
        self.workspace, self.code, self.plan, self.stop = workspace, code, plan, stop
        self.port = free_port()
        self.log = workspace / "serve.log"
        self.feeds, self.state = workspace / "feeds", workspace / "state.sqlite"
        self.process: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()
        self.epoch = 0  # bumped by every kill: a request that spans one met a dead server
        self.lifetimes: list[Lifetime] = []
        self.lock = threading.Lock()  # one start or kill at a time

    def command(self) -> list[str]:
        return [sys.executable, "-m", "service", "serve", "--seeds",
                str(self.workspace / "seeds"), "--feeds", str(self.feeds),
                "--state", str(self.state),
                "--host", "127.0.0.1", "--port", str(self.port),
                "--base-url", f"http://127.0.0.1:{self.port}",
                "--reconcile", f"{self.plan.reconcile:g}", "--entries", str(self.plan.entries),
                "--archive-size", str(self.plan.archive_size)]

    def start(self, timeout: float = 300) -> bool:
        """Start the server and wait until it answers /healthz; False if it never did."""
        with self.lock:
            passes_before = self.passes_counted()
            env = {**os.environ, "PYTHONUTF8": "1", "PYTHONPATH": str(self.code)}
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(self.command(), stdout=log,
                                                stderr=subprocess.STDOUT, env=env,
                                                cwd=self.code, start_new_session=True)
            life = Lifetime(self.process.pid, time.time(), passes_before=passes_before)
            self.lifetimes.append(life)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set():
            if self.process.poll() is not None:
                return False
            if life.answering is None and self.healthy():
                life.answering = time.time()
            # A restart answers at once, serving the site as published while its first
            # pass rebuilds it: every promise holds from the end of that pass.
            if life.answering is not None and self.first_pass_done(life):
                life.healthy = time.time()
                self.up.set()
                return True
            time.sleep(0.1)
        return False

    def first_pass_done(self, life: Lifetime) -> bool:
        """A pass has finished in this lifetime, so its first (the rebuild) has: status.json
        counts every pass that succeeded, across restarts. (Looking for a cold last pass
        misses it when the next pass follows within the polling interval.)"""
        return self.passes_counted() > life.passes_before

    def passes_counted(self) -> int:
        """The passes status.json has counted so far (0 before any)."""
        try:
            status = json.loads((self.workspace / "feeds" / "status.json").read_bytes())
            return int(status["publish_seconds"]["count"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"GET /healthz HTTP/1.0\r\nHost: soak\r\n\r\n")
                return sock.recv(64).split(b" ", 2)[1:2] == [b"200"]
        except OSError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server's whole process group (render workers too) and reap it."""
        with self.lock:
            self.up.clear()
            self.epoch += 1
            process = self.process
            if process is None:
                return
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if self.lifetimes and self.lifetimes[-1].ended is None:
                self.lifetimes[-1].ended = time.time()

    def sample(self) -> None:
        """Memory (the process and its children) and open files of the running server."""
        process, life = self.process, self.lifetimes[-1] if self.lifetimes else None
        if process is None or life is None or not self.up.is_set():
            return
        with contextlib.suppress(OSError):
            pids = [process.pid, *children(process.pid)]
            rss = sum(vm_rss(pid) for pid in pids)
            fds = len(os.listdir(f"/proc/{process.pid}/fd"))
            life.samples.append((time.time(), rss, fds))


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the render workers a cold build forks)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as stream:
                for child in map(int, stream.read().split()):
                    found += [child, *children(child)]
    return found


def vm_rss(pid: int) -> int:
    """Resident memory of one process in bytes (0 if it just exited)."""
    try:
        with open(f"/proc/{pid}/status") as stream:
            for line in stream:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Passes:
    """Publish passes as the server logged them: how many, and how long they took."""

    LINE = re.compile(r"publish pass: (\d+) files, .*; read (\d+) files, .* in ([\d.]+) s")

    def __init__(self) -> None:
        self.count = 0
        self.longest = 0.0  # of the passes that follow changes
        self.longest_cold = 0.0  # of the builds that start a process

    def add(self, line: str) -> None:
        found = self.LINE.search(line)
        if found is None:
            return
        files, read, seconds = int(found[1]), int(found[2]), float(found[3])
        self.count += 1
        if files >= 20 and read >= 0.9 * files:
            self.longest_cold = max(self.longest_cold, seconds)
        else:
            self.longest = max(self.longest, seconds)
