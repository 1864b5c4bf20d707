"""Requests to callbacks: to the checked address under the callback's name, no
redirect followed, a bounded read, a deadline however the answer trickles."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.push import client
from service.push.address import Target, check

from support.ports import free_port
from support.subscriber import Received, Reply, Subscriber


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with Subscriber() as running:
        yield running


def named(subscriber: Subscriber, name: str = "reader.localtest", path: str = "/cb") -> Target:
    """The subscriber's callback under a name that 'resolves' to 127.0.0.1."""
    return check(f"http://{name}:{subscriber.port}{path}", allow_private=True,
                 resolver=lambda _host, _port: ["127.0.0.1"])


def test_the_request_goes_to_the_checked_address_under_the_callback_s_name(
        subscriber: Subscriber) -> None:
    answer = client.request(named(subscriber), "GET", "/cb?hub.challenge=abc")
    assert (answer.status, answer.body, answer.complete) == (200, b"abc", True)
    (got,) = subscriber.requests("/cb")
    assert got.headers["host"] == f"reader.localtest:{subscriber.port}"
    assert got.headers["user-agent"] == client.USER_AGENT
    assert got.target == "/cb?hub.challenge=abc"


def test_a_redirect_is_an_answer_and_is_not_followed(subscriber: Subscriber) -> None:
    subscriber.replies["/cb"] = lambda _r: Reply(
        302, b"", (("Location", f"http://127.0.0.1:{subscriber.port}/elsewhere"),))
    answer = client.request(named(subscriber), "GET", "/cb")
    assert answer.status == 302
    time.sleep(0.2)
    assert subscriber.requests("/elsewhere") == []


def test_at_most_max_body_bytes_are_read(subscriber: Subscriber) -> None:
    subscriber.replies["/cb"] = lambda _r: Reply(200, b"x" * (4 * client.MAX_BODY))
    answer = client.request(named(subscriber), "GET", "/cb")
    assert (answer.status, len(answer.body), answer.complete) == (200, client.MAX_BODY, False)


@pytest.mark.timed  # a latency: run alone
def test_a_slow_answer_is_given_up_at_the_deadline(subscriber: Subscriber,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client, "TOTAL_TIMEOUT", 1.0)
    subscriber.replies["/cb"] = lambda _r: Reply(200, b"late", delay=4.0)
    began = time.monotonic()
    with pytest.raises(client.Unreachable, match="no complete answer within 1 s"):
        client.request(named(subscriber), "GET", "/cb")
    assert time.monotonic() - began < 3.0


@pytest.mark.timed  # a latency: run alone
def test_an_answer_that_trickles_is_cut_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A byte every 0.1 s keeps every read within its timeout; the deadline still holds."""
    monkeypatch.setattr(client, "TOTAL_TIMEOUT", 1.0)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    target = Target(f"http://reader.localtest:{port}/", "http", "reader.localtest", port, "/",
                    "127.0.0.1")
    began = time.monotonic()
    try:
        with pytest.raises(client.Unreachable, match="within 1 s"):
            client.request(target, "GET", "/")
        assert time.monotonic() - began < 3.0
    finally:
        stop.set()
        listener.close()


def test_a_closed_port_is_unreachable_at_once() -> None:
    port = free_port()  # this test worker's own, and bound by nothing
    target = Target(f"http://127.0.0.1:{port}/", "http", "127.0.0.1", port, "/", "127.0.0.1")
    with pytest.raises(client.Unreachable, match="ConnectionRefused"):
        client.request(target, "GET", "/")


def test_https_checks_the_certificate_against_the_name_not_the_address(
        tmp_path: Path, subscriber: Subscriber) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=reader.localtest", "-addext",
                    "subjectAltName=DNS:reader.localtest", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment, func-returns-value]
    subscriber.server.socket = server_tls.wrap_socket(subscriber.server.socket, server_side=True)
    trusting = ssl.create_default_context(cafile=str(cert))
    url = f"https://reader.localtest:{subscriber.port}/cb"
    target = check(url, allow_private=True, resolver=lambda _h, _p: ["127.0.0.1"])
    answer = client.request(target, "GET", "/cb?hub.challenge=tls", tls=trusting)
    assert (answer.status, answer.body) == (200, b"tls")
    assert names == ["reader.localtest"]
    assert subscriber.requests("/cb")[0].headers["host"] == f"reader.localtest:{subscriber.port}"
    wrong = check(f"https://other.localtest:{subscriber.port}/cb", allow_private=True,
                  resolver=lambda _h, _p: ["127.0.0.1"])
    with pytest.raises(client.Unreachable, match="TLS failed"):
        client.request(wrong, "GET", "/cb", tls=trusting)


def test_every_request_is_recorded_with_its_body(subscriber: Subscriber) -> None:
    client.request(named(subscriber), "POST", "/cb", {"Content-Type": "text/plain"}, b"hello")
    got: Received = subscriber.wait("/cb")[0]
    assert (got.method, got.body, got.headers["content-type"]) == ("POST", b"hello",
                                                                    "text/plain")


def test_deadlines_cost_no_thread_per_request(subscriber: Subscriber,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A timer thread started for each request took a tenth of a push's CPU."""
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def counted(thread: threading.Thread) -> None:
        if "process_request" not in thread.name:  # the subscriber's own, one per request
            started.append(thread)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counted)
    for _ in range(20):
        assert client.request(named(subscriber), "GET", "/cb").status == 200
    assert len(started) <= 1, [t.name for t in started]
