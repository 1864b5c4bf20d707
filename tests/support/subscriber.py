"""A WebSub subscriber's callback on 127.0.0.1: a small threaded HTTP server that
records every request it gets and answers a verification as its ``reply`` says (by
default: 200 with the challenge, as a subscriber that wants the subscription does)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, urlsplit

from support.waiting import wait_for


@dataclass(frozen=True)
class Received:
    """One request the callback got."""

    method: str
    target: str  # path and query, as sent
    path: str
    params: dict[str, str]  # the query's fields (the last of each name)
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.time()

    @property
    def mode(self) -> str | None:
        return self.params.get("hub.mode")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds to wait before answering


def echo(request: Received) -> Reply:
    """What a subscriber that wants it answers: the challenge (as websub.rocks does)."""
    challenge = request.params.get("hub.challenge")
    if challenge is None:
        return Reply(200)
    return Reply(200, challenge.encode(), (("Content-Type", "application/octet-stream"),))


class Subscriber:
    """Callbacks at ``url(path)``; ``replies[path]`` answers the requests for ``path``
    (``echo`` when absent). Every request is in ``received``, in order."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.received: list[Received] = []
        self.replies: dict[str, Callable[[Received], Reply]] = {}
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _any(self) -> None:
                owner._handle(self)

            do_GET = do_POST = do_HEAD = do_PUT = _any

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host, self.port = host, self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/callback") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        request = Received(handler.command, handler.path, parts.path,
                           dict(parse_qsl(parts.query, keep_blank_values=True)),
                           {k.lower(): v for k, v in handler.headers.items()}, body, time.time())
        with self._lock:
            self.received.append(request)
            reply = self.replies.get(parts.path, echo)
        answer = reply(request)
        if answer.delay:
            time.sleep(answer.delay)
        try:
            handler.send_response(answer.status)
            for name, value in answer.headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(answer.body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(answer.body)
        except OSError:
            pass  # the hub gave up on us: that is what some tests want

    def requests(self, path: str | None = None, mode: str | None = None) -> list[Received]:
        """What was received for ``path`` (all paths if None), of ``mode`` if given."""
        with self._lock:
            return [r for r in self.received if (path is None or r.path == path)
                    and (mode is None or r.mode == mode)]

    def wait(self, path: str | None = None, mode: str | None = None, count: int = 1,
             timeout: float = 10.0) -> list[Received]:
        """The first ``count`` requests for ``path`` of ``mode``, once they came."""
        found = wait_for(lambda: len(self.requests(path, mode)) >= count, timeout,
                         f"{count} request(s) for {path} ({mode}) did not come in {timeout} s; "
                         f"got {[(r.method, r.target) for r in self.requests()]}")
        assert found
        return self.requests(path, mode)[:count]

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
