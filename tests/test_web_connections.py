"""Hostile and careless clients against the real `seedfeeds web`: a crowd of idle
sockets, slowloris clients that trickle their headers, and idle keep-alive connections
must not starve a reader, and are closed after the timeouts the README states; a body
larger than any route takes is refused before it is sent."""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Iterator

import pytest

from service.web.server import HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_BODY

from support import webserver
from support.client import Reply
from support.processes import Server
from support.webserver import Built

pytestmark = pytest.mark.timed  # asserts how soon things happen: `make test` runs it alone

CROWD = 1000  # idle sockets: ten times what waitress accepts by default
SLOW_CLIENTS = 150  # more than waitress's default limit, fewer than a crowd
FAST = 2.0  # seconds within which a reader is answered, whoever else is connected


@pytest.fixture(scope="module")
def server(built_site: Built) -> Iterator[Server]:
    """A server of its own: these tests hold hundreds of its connections."""
    with webserver.running(built_site.feeds) as running:
        yield running


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """The test's client sockets, all closed at the end whatever happens."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < CROWD + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, CROWD * 2), hard))
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def connect(server: Server, opened: list[socket.socket], count: int) -> list[socket.socket]:
    """``count`` connections to ``server``, non-blocking, so that looking costs no wait."""
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.setblocking(False)
        opened.append(sock)
    return opened[-count:]


def answered(server: Server, path: str, within: float) -> Reply | None:
    """The reply to GET ``path`` if it comes within ``within`` seconds, else None."""
    try:
        return server.get(path, timeout=within)
    except TimeoutError:
        return None


def closed_by_server(sock: socket.socket) -> bool:
    """The server closed (or reset) this connection; nothing is waiting to be read."""
    try:
        return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def test_a_crowd_of_idle_connections_does_not_starve_a_reader(
        server: Server, sockets: list[socket.socket]) -> None:
    crowd = connect(server, sockets, CROWD)
    started = time.monotonic()
    reply = answered(server, "/all.atom", FAST * 5)
    took = time.monotonic() - started
    assert reply is not None and reply.status == 200, (
        f"a reader behind {CROWD} idle connections got no answer in {FAST * 5} s")
    assert took < FAST, f"a reader behind {CROWD} idle connections waited {took:.1f} s"
    assert not any(closed_by_server(sock) for sock in crowd), (
        "the crowd was dropped to make room: it is within the limits and not yet idle long")


def test_slowloris_clients_are_cut_after_the_header_timeout_while_healthz_answers(
        server: Server, sockets: list[socket.socket]) -> None:
    slow = connect(server, sockets, SLOW_CLIENTS)
    for sock in slow:
        sock.sendall(b"GET /all.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    started = time.monotonic()
    cut: dict[int, float] = {}
    while len(cut) < len(slow) and time.monotonic() - started < HEADER_TIMEOUT + 5:
        for number, sock in enumerate(slow):
            if number not in cut and closed_by_server(sock):
                cut[number] = time.monotonic() - started
            elif number not in cut:
                with contextlib.suppress(OSError):  # a reset shows on the next round
                    sock.send(b"a")  # one more header byte a second: never idle
        reply = answered(server, "/healthz", FAST)
        assert reply is not None and reply.status == 200, (
            f"/healthz did not answer within {FAST} s beside {len(slow) - len(cut)} "
            "slowloris clients")
        time.sleep(1)
    assert len(cut) == len(slow), (
        f"{len(slow) - len(cut)} of {len(slow)} slowloris clients were still connected "
        f"{HEADER_TIMEOUT + 5:g} s after their first byte")
    assert min(cut.values()) >= HEADER_TIMEOUT - 1 and max(cut.values()) <= HEADER_TIMEOUT + 3


def test_an_idle_keep_alive_connection_is_closed_after_its_timeout(
        server: Server, sockets: list[socket.socket]) -> None:
    [sock] = connect(server, sockets, 1)
    sock.settimeout(5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while not answer.endswith(b"ok\n"):
        answer += sock.recv(65536)
    assert b" 200 " in answer.split(b"\r\n", 1)[0] and b"Connection: close" not in answer
    idle_since = time.monotonic()
    sock.settimeout(IDLE_TIMEOUT + 5)
    try:
        rest = sock.recv(1)
    except TimeoutError:
        pytest.fail(f"an idle keep-alive connection stayed open over {IDLE_TIMEOUT + 5:g} s")
    except ConnectionResetError:
        rest = b""
    idle = time.monotonic() - idle_since
    assert rest == b""
    assert IDLE_TIMEOUT - 1 <= idle <= IDLE_TIMEOUT + 2.5, f"closed after {idle:.1f} s idle"


def test_a_body_larger_than_any_route_takes_is_refused_on_its_headers(
        server: Server, sockets: list[socket.socket]) -> None:
    [sock] = connect(server, sockets, 1)
    sock.settimeout(FAST)
    sock.sendall(b"POST /websub HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                 b"application/x-www-form-urlencoded\r\nContent-Length: "
                 + str(MAX_BODY * 2).encode() + b"\r\n\r\n")
    try:
        answer = sock.recv(65536)
    except TimeoutError:
        pytest.fail(f"the server waited for a {MAX_BODY * 2:,}-byte body to arrive")
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
