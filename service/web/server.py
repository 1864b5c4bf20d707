"""The production WSGI server of the web side: waitress, never Flask's development server.

One process, a pool of threads, no fork: the scheduler and the watcher of
``seedfeeds serve`` can run beside it exactly once. waitress reads requests and writes
answers in one event loop and hands only complete requests to its threads, so a slow
or silent client costs a socket, never a thread; what it lacks is added here: room for
thousands of connections, a deadline for a request's headers, a short keep-alive, and
one-line refusals when the address cannot be had. Chosen by measurement, see the
README's "Benchmarks: Web".
"""

from __future__ import annotations

import errno
import logging
import resource
import signal
import time
import warnings
from types import FrameType
from typing import Any, cast

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher, WSGITask

from service.config import Settings, StartupError, refusal
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
# Open connections at most (waitress's default is 100: a hundred idle sockets stopped
# every request). Each costs one file descriptor, so fewer if the process may not have
# that many (see connection_limit).
CONNECTIONS = 4000
SPARE_FILES = 256  # descriptors kept for everything else: published files, logs, the publisher
# Seconds from a request's first byte to its last: headers (and a body, which no route
# takes) sent slower than this are a slowloris, and the connection is closed.
HEADER_TIMEOUT = 10.0
# Seconds a connection may wait between requests before it is closed: enough for a
# browser's next page or a reader's next feed, short enough that idle sockets leave.
IDLE_TIMEOUT = 5.0
# Seconds an answer may sit unread by its client before the connection is closed.
SEND_TIMEOUT = 60.0
SWEEP_EVERY = 1.0  # seconds between two checks of every connection's deadlines
# Bytes of a request body at most: the largest any route takes is a WebSub form of
# 64 KiB. waitress would otherwise spool up to 1 GiB a request to disk before the app
# could refuse it; past this it answers 413 on the headers alone.
MAX_BODY = 1024 * 1024
WAITRESS_OWN = 4  # sockets waitress counts as connections: its listeners and wake-up pipe
FD_SETSIZE = 1024  # select() watches descriptors below this number only


def run_web(settings: Settings) -> None:
    """Serve ``settings.feeds`` on settings.host:settings.port until SIGTERM or SIGINT."""
    serve(create_app(settings), settings)


def create_server(app: Any, settings: Settings) -> Serving:
    """A bound, not yet running server for ``app`` (port 0 picks a free port);
    StartupError if the address cannot be had."""
    adjustments = _adjustments(settings, connection_limit())
    sockets: dict[int, Any] = {}
    dispatcher = ThreadedTaskDispatcher()
    listeners = []
    try:
        # One per address the host resolves to; the stubs type these as strings.
        for sockinfo in cast("list[Any]", adjustments.listen):
            listeners.append(_Listener(app, sockets, dispatcher=dispatcher, adj=adjustments,
                                       sockinfo=sockinfo))
    except OSError as exc:
        wasyncore.close_all(sockets)
        raise bind_refusal(exc, settings.host or "every interface", settings.port) from None
    dispatcher.set_thread_count(THREADS)  # threads only once the address is ours
    return Serving(sockets, listeners, dispatcher, adjustments)


class Serving:
    """The listeners of one server (one per address its host resolves to), their
    connections in one event loop, and the pool of threads that answers them."""

    def __init__(self, sockets: dict[int, Any], listeners: list[_Listener],
                 dispatcher: ThreadedTaskDispatcher, adjustments: Adjustments) -> None:
        self.sockets, self.listeners, self.dispatcher = sockets, listeners, dispatcher
        self.connections = int(adjustments.connection_limit) - WAITRESS_OWN
        self.timeout = float(adjustments.asyncore_loop_timeout)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        # The stubs lack a listener's effective address.
        return [(cast(Any, one).effective_host, cast(Any, one).effective_port)
                for one in self.listeners]

    def run(self) -> None:
        """The loop, until SystemExit or KeyboardInterrupt (how waitress is stopped);
        then the threads finish what they run."""
        try:
            while self.sockets:
                # select() costs 3-4% less a request than poll() (bench/web.py), but
                # cannot watch a descriptor numbered FD_SETSIZE or more.
                if max(self.sockets) < FD_SETSIZE:
                    wasyncore.poll(self.timeout, self.sockets)
                else:
                    wasyncore.poll2(self.timeout, self.sockets)
        except (SystemExit, KeyboardInterrupt):
            pass
        finally:
            self.dispatcher.shutdown()

    def close(self) -> None:
        """Close the listeners and every connection."""
        wasyncore.close_all(self.sockets)


def connection_limit() -> int:
    """CONNECTIONS, or what the open-file limit leaves room for after raising its soft
    value toward the hard one (which needs no privilege)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTIONS + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return CONNECTIONS
    return min(CONNECTIONS, max(soft - SPARE_FILES, soft // 2))


def _proxied(settings: Settings) -> dict[str, Any]:
    """Behind a trusted proxy, REMOTE_ADDR is the client its X-Forwarded-For names."""
    if not settings.trusted_proxy:
        return {}
    return {"trusted_proxy": settings.trusted_proxy, "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for"}}


def _adjustments(settings: Settings, connections: int) -> Adjustments:
    try:
        with warnings.catch_warnings():  # send_bytes is deprecated, and worth keeping
            warnings.filterwarnings("ignore", "send_bytes", DeprecationWarning)
            return Adjustments(
                host=settings.host, port=settings.port, threads=THREADS,
                ident="seedfeeds",  # the Server header names no version
                send_bytes=SEND_BYTES, channel_timeout=SEND_TIMEOUT,
                max_request_body_size=MAX_BODY,
                cleanup_interval=SWEEP_EVERY,
                connection_limit=connections + WAITRESS_OWN, **_proxied(settings))
    except ValueError:  # waitress's word for "getaddrinfo found nothing"
        raise refusal("host", f"{settings.host!r} does not resolve to an address") from None


def bind_refusal(exc: OSError, host: str, port: int, port_setting: str = "port"
                 ) -> StartupError:
    """What a failed bind means, in one line naming the setting at fault; also used by
    `serve`'s check before its first build, so both say it in the same words."""
    if exc.errno == errno.EADDRINUSE:
        return refusal(port_setting, f"port {port} on {host} is in use")
    if exc.errno == errno.EADDRNOTAVAIL:
        return refusal("host", f"{host} is not an address of this machine")
    if exc.errno == errno.EACCES:
        return refusal(port_setting, f"port {port} on {host} needs privileges this process "
                       "lacks (ports under 1024 do)")
    return refusal("host", f"cannot listen on port {port} of {host}: {exc.strerror}")


def serve(app: Any, settings: Settings, what: str | None = None) -> None:
    """Run ``app`` until SIGTERM or SIGINT, then stop accepting and finish what is running;
    ``what`` it serves is the feeds folder unless named."""
    server = create_server(app, settings)
    _quiet_queue_warnings()
    what = what or str(settings.feeds)
    log.info("serving %s on %s (waitress, %d threads, up to %d connections)", what,
             ", ".join(f"http://{host}:{port}" for host, port in server.addresses), THREADS,
             server.connections)
    if server.connections < CONNECTIONS:
        log.warning("the open-file limit leaves room for %d connections, not %d: raise it "
                    "(ulimit -n, or LimitNOFILE= in systemd)", server.connections, CONNECTIONS)
    # waitress stops its loop on SystemExit or KeyboardInterrupt; Docker sends SIGTERM.
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        server.run()  # returns once the loop is stopped and the worker threads are done
    finally:
        server.close()
        signal.signal(signal.SIGTERM, previous)
    log.info("stopped serving %s", what)


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
    """A connection, with what the sweep saw of the request being read."""

    task_class = _KeepAliveTask
    # The partial request the sweep first saw, and when: the sweep times a request's
    # headers itself, so that reading costs nothing more per request.
    reading: object = None
    reading_since = 0.0


class _Listener(TcpWSGIServer):
    """waitress's TCP server whose sweep (every SWEEP_EVERY seconds, on the loop's
    thread) closes each connection past its deadline: a request still incomplete
    HEADER_TIMEOUT after the sweep first saw it (so at most SWEEP_EVERY later than
    after its first byte), idle IDLE_TIMEOUT between requests, an answer unread for
    SEND_TIMEOUT. A connection whose request is being answered is left alone."""

    channel_class = _Channel

    def maintenance(self, now: float) -> None:
        idle, unread = now - IDLE_TIMEOUT, now - SEND_TIMEOUT
        # The stubs type active_channels as one channel; it is a dict of them by fd.
        for channel in cast("dict[int, _Channel]", self.active_channels).values():
            if channel.requests:
                continue
            if channel.total_outbufs_len:
                late = channel.last_activity < unread
            elif channel.request is None:
                late = channel.last_activity < idle
            else:
                if channel.request is not channel.reading:
                    channel.reading, channel.reading_since = channel.request, now
                late = (channel.last_activity < idle
                        or now - channel.reading_since >= HEADER_TIMEOUT)
            if late:
                channel.will_close = True
