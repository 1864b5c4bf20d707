"""Requests to callbacks: the only module of the hub that opens a connection.

A request goes to the address ``address.check`` approved, never to what the name
resolves to now (the name is only the Host header and the TLS server name). It follows
no redirect (a 3xx is an answer like any other), reads at most MAX_BODY bytes of the
answer, and gives up after CONNECT_TIMEOUT to connect and TOTAL_TIMEOUT in all: a
callback that answers a byte at a time is cut off at the deadline, however it trickles.
One connection per request, closed after it. The deadlines of all requests are kept by
one thread (``_Deadlines``), not a timer thread started for each: starting a thread
took a tenth of the CPU a push cost.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import http.client
import itertools
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from service.push.address import Target

CONNECT_TIMEOUT = 5.0  # seconds to open the connection (TLS handshake included)
TOTAL_TIMEOUT = 10.0  # seconds from the start of a request to the last byte of its answer
MAX_BODY = 64 * 1024  # bytes of an answer's body read; a verification needs 43
USER_AGENT = "seedfeeds-websub"


@dataclass(frozen=True)
class Answer:
    """What a callback answered."""

    status: int
    body: bytes  # at most MAX_BODY bytes of it
    complete: bool  # False: the body was longer than MAX_BODY, and cut there


class Unreachable(Exception):
    """No answer: the connection failed, timed out or broke, or the answer was not
    HTTP. The message says which, in one line."""


def request(target: Target, method: str, path: str, headers: Mapping[str, str] | None = None,
            body: bytes | None = None, tls: ssl.SSLContext | None = None) -> Answer:
    """One request to ``target``'s checked address; its answer, or Unreachable."""
    connection: _Pinned | _PinnedTLS = (
        _PinnedTLS(target, tls or _default_tls()) if target.scheme == "https"
        else _Pinned(target))
    deadline = _Deadline(connection)
    try:
        connection.request(method, path, body=body, headers={
            "User-Agent": USER_AGENT, "Connection": "close", **(headers or {})})
        response = connection.getresponse()
        data = response.read(MAX_BODY + 1)
        return Answer(response.status, data[:MAX_BODY], len(data) <= MAX_BODY)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.passed:
            raise Unreachable(f"no complete answer within {TOTAL_TIMEOUT:g} s") from None
        raise Unreachable(_reason(exc)) from None
    finally:
        deadline.cancel()
        connection.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out ({exc})" if str(exc) else "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc}"
    text = " ".join(str(exc).split()) or "no detail"
    return f"{type(exc).__name__}: {text}"


class _Deadline:
    """Shuts the connection's socket down once TOTAL_TIMEOUT has passed, which makes
    any read or write in flight fail at once (unless cancelled first)."""

    def __init__(self, connection: http.client.HTTPConnection) -> None:
        self.connection, self.passed, self.cancelled = connection, False, False
        self._lock = threading.Lock()
        _DEADLINES.add(self, time.monotonic() + TOTAL_TIMEOUT)

    def cut(self) -> None:
        with self._lock:
            if self.cancelled:
                return
            self.passed = True
            sock = self.connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # below TLS, on the socket

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True


class _Deadlines:
    """The deadlines of every request in flight, cut on one daemon thread (started with
    the first): a heap by time; a cancelled one is dropped when it comes up, so the
    heap holds at most the requests of the last TOTAL_TIMEOUT seconds."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()  # equal times never compare deadlines
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: _Deadline, at: float) -> None:
        with self._changed:
            heapq.heappush(self._heap, (at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="websub-deadlines",
                                                daemon=True)
                self._thread.start()
            if self._heap[0][2] is deadline:  # sooner than the one waited for
                self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                while True:
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        deadline = heapq.heappop(self._heap)[2]
                        break
                    self._changed.wait(self._heap[0][0] - now if self._heap else None)
            deadline.cut()


_DEADLINES = _Deadlines()


def _open(target: Target) -> socket.socket:
    """A connection to the checked address, a literal: no second name lookup, as
    socket.create_connection would make."""
    family = socket.AF_INET6 if ":" in target.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect((target.address, target.port))
    except BaseException:
        sock.close()
        raise
    return sock


class _Pinned(http.client.HTTPConnection):
    """HTTP to the checked address; Host is the name."""

    def __init__(self, target: Target) -> None:
        super().__init__(target.host, target.port, timeout=CONNECT_TIMEOUT)
        self.target = target

    def connect(self) -> None:
        self.sock = _open(self.target)
        self.sock.settimeout(TOTAL_TIMEOUT)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to the checked address; Host, the TLS server name and the certificate's
    name are the name. The socket is ours before the handshake, so the deadline can
    cut a handshake that trickles too."""

    def __init__(self, target: Target, tls: ssl.SSLContext) -> None:
        super().__init__(target.host, target.port, timeout=CONNECT_TIMEOUT, context=tls)
        self.target, self.tls = target, tls

    def connect(self) -> None:
        self.sock = self.tls.wrap_socket(_open(self.target), server_hostname=self.target.host,
                                         do_handshake_on_connect=False)
        self.sock.do_handshake()
        self.sock.settimeout(TOTAL_TIMEOUT)


@functools.lru_cache(maxsize=1)
def _default_tls() -> ssl.SSLContext:
    """The system's trust store, certificates and names checked (made once: loading the
    store takes milliseconds)."""
    return ssl.create_default_context()
