"""Helpers for the end-to-end web tests: sites built by the real `seedfeeds build`, the real
server started as `seedfeeds web`, and plain HTTP clients (http.client and raw sockets)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from support.processes import free_port, stop_process

SEEDFEEDS = str(Path(sys.executable).with_name("seedfeeds"))
START_TIMEOUT = 15.0  # seconds for a server to answer /healthz
SECRET = b"TOP-SECRET-MARKER-7f3a"  # content of a file beside feeds/ that must never leak

# One tag per case the web must handle: plain, several words, non-ASCII letters.
SEEDS: dict[str, str] = {
    "harbour.txt": (
        "New ferry line opens at the old harbour Harbour | Transport\n"
        "New ferry line opens at the old harbour Harbour | Transport\n\n"
        "The ferry runs every ten minutes between the fish market and the island.\n\n"
        "Storm warning for the coast this weekend Weather | Harbour\n"
        "Release time:2026-03-02 08:00\n\n"
        "Gusts of up to 100 km/h are expected on Saturday night.\n"),
    "cafe.md": (
        "---\ntitle: A café opens in the old library\ntags: [Café Culture, 天气]\n"
        "date: 2026-03-01 10:00\n---\nThe reading room becomes a café with <b>tall</b> "
        "windows.\n"),
    "later.md": (
        "---\ntitle: Embargoed report\ntags: [Harbour]\ndate: 2099-01-01 00:00\n---\n"
        "Not before the next century.\n"),
    "broken.md": "---\ntitle: Broken date\ntags: [Harbour]\ndate: not a date at all\n---\nBody.\n",
}


@dataclass(frozen=True)
class Built:
    """A site built into ``root/feeds`` with its state and a secret beside it."""

    root: Path
    feeds: Path
    base_url: str
    port: int

    def manifest(self) -> dict[str, dict[str, object]]:
        return json.loads((self.feeds / "index.json").read_bytes())["files"]

    def status(self) -> dict[str, object]:
        return json.loads((self.feeds / "status.json").read_bytes())

    def article_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.feeds / "articles").glob("*.html"))


def build_site(root: Path, seeds: Mapping[str, str] = SEEDS, port: int | None = None) -> Built:
    """Write ``seeds`` and run `seedfeeds build` with links for http://127.0.0.1:<port>."""
    port = port or free_port()
    folder = root / "seeds"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in seeds.items():
        (folder / name).write_text(text, encoding="utf-8")
    (root / "secret.txt").write_bytes(SECRET)
    base_url = f"http://127.0.0.1:{port}"
    rebuild(root, base_url)
    return Built(root, root / "feeds", base_url, port)


def rebuild(root: Path, base_url: str) -> None:
    """One `seedfeeds build` pass over root/seeds (exit 1 just means a bad seed file)."""
    done = subprocess.run(
        [SEEDFEEDS, "build", "--seeds", str(root / "seeds"), "--feeds", str(root / "feeds"),
         "--state", str(root / "state.sqlite"), "--base-url", base_url],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Server:
    """A running `seedfeeds web` process."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, headers: Mapping[str, str] | None = None,
            method: str = "GET", body: bytes | None = None) -> Reply:
        """One request on a fresh connection; ``path`` is sent exactly as given."""
        return request(self.port, path, headers, method, body)

    def raw(self, data: bytes) -> bytes:
        return raw_request(self.port, data)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Send ``sig`` and wait for the exit code (killed after ``timeout``)."""
        return stop_process(self.process, sig, timeout)


@contextlib.contextmanager
def running(feeds: Path, port: int | None = None, *options: str) -> Iterator[Server]:
    """`seedfeeds web` on 127.0.0.1, ready to answer; stopped with SIGTERM afterwards."""
    port = port or free_port()
    log = feeds.parent / f"web-{port}.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [SEEDFEEDS, "web", "--feeds", str(feeds), "--host", "127.0.0.1",
             "--port", str(port), *options],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUTF8": "1"})
    server = Server(port, process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.stop()


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"seedfeeds web exited early:\n{server.log_text()}")
        with contextlib.suppress(OSError):
            if server.get("/healthz").status in (200, 503):
                return
        time.sleep(0.05)
    raise AssertionError(f"seedfeeds web did not answer in {START_TIMEOUT} s:\n"
                         f"{server.log_text()}")


def request(port: int, path: str, headers: Mapping[str, str] | None = None,
            method: str = "GET", body: bytes | None = None) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        names = {name.lower() for name in response.headers}
        found = {name: ", ".join(response.headers.get_all(name) or []) for name in names}
        return Reply(response.status, found, data)
    finally:
        connection.close()


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes as they are and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def raw_status(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 if there is none)."""
    parts = answer.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
