"""The real `seedfeeds serve` process on a free port, as the live tests use it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import feedparser

from support.processes import free_port, stop_process

SEEDFEEDS = [sys.executable, "-m", "service"]


class LiveServer:
    """`seedfeeds serve` with its own seeds, feeds and state folders under ``root``."""

    def __init__(self, root: Path, *options: str) -> None:
        self.root = root
        self.seeds, self.feeds = root / "seeds", root / "feeds"
        self.seeds.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / "serve.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> LiveServer:
        command = [*SEEDFEEDS, "serve", "--seeds", str(self.seeds), "--feeds", str(self.feeds),
                   "--state", str(self.root / "state.sqlite"), "--port", str(self.port),
                   "--base-url", "http://news.test", *self.options]
        env = {**os.environ, "PYTHONUTF8": "1"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env=env, cwd=Path(__file__).resolve().parents[2])
        try:
            wait_for(self._healthy, timeout, "server did not start")
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"server exited with {self.process.returncode}:\n{self.logs()}")
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Send ``sig`` and wait for the process to exit; its exit code."""
        assert self.process is not None
        code = stop_process(self.process, sig, timeout)
        if code is None:
            raise AssertionError(f"server ignored {sig}:\n{self.logs()}")
        return code

    def logs(self) -> str:
        return self.log.read_text("utf-8", "replace") if self.log.exists() else ""

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"{self.base}{path}", timeout=5) as response:
            return response.read()

    def feed(self, path: str) -> feedparser.FeedParserDict:
        """A feed as a reader parses it; a 404 reads as an empty feed."""
        try:
            data = self.get(path)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return feedparser.parse(b"")
            raise
        parsed = feedparser.parse(data)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        return parsed

    def titles(self, path: str = "/all.atom") -> list[str]:
        return [entry.title for entry in self.feed(path).entries]

    def status(self) -> dict[str, Any]:
        """The publisher's status file (what /status serves)."""
        try:
            return json.loads((self.feeds / "status.json").read_bytes())
        except (OSError, ValueError):
            return {}

    def passes(self) -> int:
        return len(self.status().get("history", []))

    def __enter__(self) -> LiveServer:
        return self if self.process is not None else self.start()

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def wait_for(condition: Callable[[], Any], timeout: float, message: str = "",
             interval: float = 0.05) -> Any:
    """Poll ``condition`` until it is truthy; its value, or AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met in {timeout} s")
        time.sleep(interval)
