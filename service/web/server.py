"""The production WSGI server of the web side: waitress, never Flask's development server.

One process, a pool of threads, no fork: the scheduler and the watcher of
``seedfeeds serve`` can run beside it exactly once. Chosen by measurement with
``bench/web.py --gunicorn`` (wrk, 2 threads, 32 connections, 10 s, a 50-entry Atom
feed, on 2 cores shared with wrk): waitress answered 3,163 plain and 3,444
conditional (304) requests a second with p99 19 ms; gunicorn with 2 worker processes
of 4 threads 2,310 and 2,946 with p99 32 and 46 ms. gunicorn does not win, and its
processes could not host the scheduler, so waitress serves both roles.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.server import create_server as waitress_server
from waitress.task import WSGITask

from service.config import Settings
from service.web.app import create_app

log = logging.getLogger(__name__)

# Threads that run the app. A published file is answered from memory in ~15 µs under the
# GIL, and waitress's own loop feeds slow clients, so more threads only contend: with
# wrk on 2 cores, 1 and 2 threads served 10-20% more requests than 4 or 8 at less CPU
# each. Two, so that a slow disk read (an article page, a large manifest) blocks nobody.
THREADS = 2
# Bytes per send(): the default 18,000 takes five loop passes for a 90 kB feed; one pass
# cost 15% less CPU per plain feed request in bench/web.py.
SEND_BYTES = 256 * 1024


def run_web(settings: Settings) -> None:
    """Serve ``settings.feeds`` on settings.host:settings.port until SIGTERM or SIGINT."""
    serve(create_app(settings), settings)


def create_server(app: Any, settings: Settings) -> Any:
    """A bound, not yet running waitress server for ``app`` (port 0 picks a free port)."""
    sockets: dict[int, Any] = {}
    server = waitress_server(
        app, map=sockets, host=settings.host, port=settings.port, threads=THREADS,
        ident="seedfeeds",  # the Server header names no version
        channel_timeout=60, send_bytes=SEND_BYTES)
    for listener in sockets.values():  # one per address "localhost" resolves to
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _Channel
    return server


def serve(app: Any, settings: Settings) -> None:
    """Run ``app`` until SIGTERM or SIGINT, then stop accepting and finish what is running."""
    server = create_server(app, settings)
    _quiet_queue_warnings()
    log.info("serving %s on http://%s:%s (waitress, %d threads)", settings.feeds,
             server.effective_host, server.effective_port, THREADS)
    # waitress stops its loop on SystemExit or KeyboardInterrupt; Docker sends SIGTERM.
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        server.run()  # returns once the loop is stopped and the worker threads are done
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
    log.info("stopped serving %s", settings.feeds)


def _quiet_queue_warnings() -> None:
    queue = logging.getLogger("waitress.queue")
    if not any(isinstance(f, _OncePerMinute) for f in queue.filters):
        queue.addFilter(_OncePerMinute())


class _OncePerMinute(logging.Filter):
    """waitress warns "Task queue depth is N" for every request that waits for a free
    thread: thousands of lines a second under load. One a minute says the same."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self.every, self.last = every, -every

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.last < self.every:
            return False
        self.last = now
        return True


def _exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


class _KeepAliveTask(WSGITask):
    """waitress 3.0.2 answers every 304 with ``Connection: close``: it wants a
    Content-Length, which a bodiless response must not carry (Pylons/waitress PR 502,
    open). Feed readers and caches revalidate all day, so keep their connection: a 1xx,
    204 or 304 is framed by its headers alone (RFC 9112, section 6.3)."""

    _bodiless = False

    def build_response_header(self) -> bytes:
        self._bodiless = self.version == "1.1" and not self.has_body
        try:
            return super().build_response_header()
        finally:
            self._bodiless = False

    def set_close_on_finish(self) -> None:
        # The stubs type Task.request as an Error; a WSGITask's is the parsed request.
        headers = self.request.headers  # type: ignore[attr-defined]
        if self._bodiless and headers.get("CONNECTION", "").lower() != "close":
            return
        super().set_close_on_finish()


class _Channel(HTTPChannel):
    task_class = _KeepAliveTask
