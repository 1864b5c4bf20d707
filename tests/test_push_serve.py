"""The hub in a real `seedfeeds serve`, at /websub in front of the web app, with real
subscribers on 127.0.0.1: the websub.rocks hub tests 100-104 as they bear on
subscription and verification, verify_token, leases, the old subscription kept,
persistence across kill -9, and every SSRF refusal with allow-private off."""

from __future__ import annotations

import hashlib
import hmac
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.liveserver import LiveServer
from support.subscriber import Received, Reply, Subscriber
from support.waiting import wait_for
from support.websub import post_http, rows

TOPIC = "http://news.test/tags/harbour.atom"
SEED = ("Ferry returns to the harbour. Harbour | Transport\n\n"
        "Release time:2026-01-05 10:00\n\nIt is back.\n")
HUB = ("--websub-allow-private", "true", "--websub-lease", "3600", "--websub-lease-min", "60",
       "--websub-lease-max", "7200")


def serving(root: Path, *options: str) -> LiveServer:
    server = LiveServer(root, *options)
    (server.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    return server


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Subscriber]:
    with Subscriber() as running:
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serving(tmp_path_factory.mktemp("hub"), *HUB) as running:
        yield running


def state(server: LiveServer) -> Path:
    return server.root / "state.sqlite"


def subscription(server: LiveServer, callback: str, topic: str = TOPIC) -> dict[str, Any] | None:
    found = [row for row in rows(state(server), "subscriptions")
             if row["callback"] == callback and row["topic"] == topic]
    return found[0] if found else None


def form(mode: str, callback: str, topic: str = TOPIC, **extra: str) -> dict[str, str]:
    return {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback, **extra}


def posts(subscriber: Subscriber, path: str | None = None) -> list[Received]:
    return [r for r in subscriber.requests(path) if r.method == "POST"]


def write_seed(server: LiveServer, name: str, headline: str) -> None:
    (server.seeds / name).write_text(f"{headline} Harbour | Transport\n\n"
                                     "Release time:2026-01-06 10:00\n\nMore.\n", "utf-8")


def rocks(request: Received) -> Reply:
    """websub.rocks's callback: 404 unless the verification carries what it must."""
    p = request.params
    if (p.get("hub.mode") not in ("subscribe", "unsubscribe") or p.get("hub.topic") != TOPIC
            or not p.get("hub.challenge")
            or (p["hub.mode"] == "subscribe" and "hub.lease_seconds" not in p)):
        return Reply(404)
    return Reply(200, p["hub.challenge"].encode(), (("Content-Type", "application/octet-stream"),))


def test_100_to_104_subscribe_secret_extra_resubscribe_unsubscribe(server: LiveServer,
                                                                   subscriber: Subscriber
                                                                   ) -> None:
    for path in ("/100", "/101", "/102", "/103", "/104"):
        subscriber.replies[path] = rocks
    answers = [post_http(server.port, form("subscribe", subscriber.url("/100"))),
               post_http(server.port, form("subscribe", subscriber.url("/101"),
                                           **{"hub.secret": "a1b2c3d4e5f6g7h8i9j0"})),
               post_http(server.port, form("subscribe", subscriber.url("/102"), foo="bar",
                                           **{"hub.foo": "hub.bar"})),
               post_http(server.port, form("subscribe", subscriber.url("/103"))),
               post_http(server.port, form("subscribe", subscriber.url("/104")))]
    assert [(a.status, a.header("content-type")) for a in answers] == [
        (202, "text/plain; charset=utf-8")] * 5
    for path in ("/100", "/101", "/102", "/103", "/104"):
        wait_for(lambda path=path: subscription(server, subscriber.url(path)), 10,
                 f"{path} was not verified")
    assert subscription(server, subscriber.url("/101"))["secret"] == "a1b2c3d4e5f6g7h8i9j0"
    assert subscription(server, subscriber.url("/100"))["secret"] is None
    # 103: verified again, and still one subscription
    assert post_http(server.port, form("subscribe", subscriber.url("/103"))).status == 202
    subscriber.wait("/103", count=2)
    wait_for(lambda: not rows(state(server), "requests"), 10)
    assert len([r for r in rows(state(server), "subscriptions")
                if r["callback"] == subscriber.url("/103")]) == 1
    # 104: the unsubscribe's verification says so, and the subscription ends
    assert post_http(server.port, form("unsubscribe", subscriber.url("/104"))).status == 202
    (asked,) = subscriber.wait("/104", mode="unsubscribe")
    assert asked.params["hub.topic"] == TOPIC
    wait_for(lambda: subscription(server, subscriber.url("/104")) is None, 10)


def test_verify_token_leases_and_a_failed_verification(server: LiveServer,
                                                       subscriber: Subscriber) -> None:
    callback = subscriber.url("/lease")
    assert post_http(server.port, form("subscribe", callback, **{
        "hub.lease_seconds": "5", "hub.verify_token": "legacy"})).status == 202
    (asked,) = subscriber.wait("/lease")
    assert (asked.params["hub.lease_seconds"], asked.params["hub.verify_token"]) == ("60",
                                                                                    "legacy")
    kept = wait_for(lambda: subscription(server, callback), 10)
    assert kept["lease_seconds"] == 60
    subscriber.replies["/lease"] = lambda _r: Reply(200, b"no")
    assert post_http(server.port, form("subscribe", callback,
                                       **{"hub.lease_seconds": "99999"})).status == 202
    (_first, second) = subscriber.wait("/lease", count=2)
    assert second.params["hub.lease_seconds"] == "7200"
    wait_for(lambda: not rows(state(server), "requests"), 10)
    assert subscription(server, callback) == kept  # the old one, as it was


@pytest.mark.timed  # a latency: run alone
def test_a_change_is_pushed_as_served_once_to_each_subscriber_and_to_no_one_else(
        server: LiveServer, subscriber: Subscriber) -> None:
    signed, again, left = (subscriber.url(p) for p in ("/pushed", "/again", "/left"))
    for callback in (signed, again, left):
        post_http(server.port, form("subscribe", callback, **{"hub.secret": "k3y"}))
    for callback in (signed, again, left):
        wait_for(lambda callback=callback: subscription(server, callback), 10)
    post_http(server.port, form("subscribe", again))  # 103: verified again, still one
    post_http(server.port, form("unsubscribe", left))  # 104: nothing after this
    subscriber.wait("/again", count=2)
    wait_for(lambda: subscription(server, left) is None, 10)
    wait_for(lambda: not rows(state(server), "requests"), 10)
    time.sleep(0.5)
    assert posts(subscriber) == []  # none on verification
    began = time.time()
    write_seed(server, "second.txt", "Second ferry joins the line.")
    subscriber.wait("/pushed", count=2)  # the verification, then the push
    (push,) = posts(subscriber, "/pushed")
    served = server.get("/tags/harbour.atom")
    assert push.body == served.body and b"Second ferry joins the line." in push.body
    assert push.headers["content-type"] == served.header("content-type")
    assert push.headers["link"] == f'<http://news.test/websub>; rel="hub", <{TOPIC}>; rel="self"'
    assert push.headers["x-hub-signature"] == "sha256=" + hmac.new(
        b"k3y", push.body, hashlib.sha256).hexdigest()
    assert push.at - began < 5.0
    time.sleep(2.0)
    assert len(posts(subscriber, "/again")) == 1
    assert posts(subscriber, "/left") == []


def test_the_endpoint_answers_in_front_of_the_web_app(server: LiveServer) -> None:
    reply = server.get("/websub")
    assert reply.status == 405 and reply.header("allow") == "POST"
    bad = post_http(server.port, {"hub.mode": "subscribe"})
    assert (bad.status, bad.body) == (400, b"hub.topic: missing\n")
    assert server.get("/tags/harbour.atom").status == 200  # the web app, as before


def test_a_subscription_and_a_pending_request_survive_kill_9(tmp_path: Path,
                                                             subscriber: Subscriber) -> None:
    server = serving(tmp_path, *HUB).start()
    try:
        done, pending = subscriber.url("/kept"), subscriber.url("/pending")
        assert post_http(server.port, form("subscribe", done, **{"hub.secret": "s"})
                         ).status == 202
        wait_for(lambda: subscription(server, done), 10)
        subscriber.replies["/pending"] = lambda _r: Reply(200, b"", delay=30)  # in flight
        assert post_http(server.port, form("subscribe", pending)).status == 202
        subscriber.wait("/pending")
        server.stop(signal.SIGKILL)
        del subscriber.replies["/pending"]
        server.start()
        second = subscriber.wait("/pending", count=2, timeout=20)[1]
        assert second.params["hub.mode"] == "subscribe"
        wait_for(lambda: subscription(server, pending), 10)
        assert subscription(server, done)["secret"] == "s"
    finally:
        server.stop()


def test_a_push_cut_short_by_kill_9_is_made_after_the_restart(tmp_path: Path,
                                                              subscriber: Subscriber) -> None:
    server = serving(tmp_path, *HUB).start()
    try:
        callback = subscriber.url("/owed")
        post_http(server.port, form("subscribe", callback))
        wait_for(lambda: subscription(server, callback), 10)
        subscriber.replies["/owed"] = lambda r: Reply(204, delay=30 if r.method == "POST" else 0)
        write_seed(server, "third.txt", "Third ferry waits at the pier.")
        wait_for(lambda: posts(subscriber, "/owed"), 10)
        assert len(rows(state(server), "outbox")) == 1
        server.stop(signal.SIGKILL)
        del subscriber.replies["/owed"]
        server.start()
        wait_for(lambda: len(posts(subscriber, "/owed")) == 2, 20)
        assert b"Third ferry waits at the pier." in posts(subscriber, "/owed")[1].body
        wait_for(lambda: not rows(state(server), "outbox"), 10)
    finally:
        server.stop()


REFUSED = ["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "[2002:7f00:1::1]", "0x7f.1",
           "2130706433", "localhost", "10.0.0.1", "169.254.169.254", "100.64.0.1",
           "[64:ff9b::7f00:1]"]


def test_every_ssrf_form_is_refused_with_403_and_nothing_is_asked(tmp_path: Path,
                                                                   subscriber: Subscriber
                                                                   ) -> None:
    before = len(subscriber.requests())
    with serving(tmp_path, "--websub-allow-private", "false") as server:
        for host in REFUSED:
            callback = f"http://{host}:{subscriber.port}/ssrf"
            reply = post_http(server.port, form("subscribe", callback))
            assert reply.status == 403, (host, reply.body)
            assert reply.body.startswith(b"hub.callback: refused: "), reply.body
            assert b"\n" not in reply.body.rstrip(b"\n")
        time.sleep(1.0)
        assert rows(state(server), "requests") == []
        assert rows(state(server), "subscriptions") == []
    assert len(subscriber.requests()) == before  # the one on 127.0.0.1 heard nothing


def test_without_the_hub_websub_is_not_an_address(tmp_path: Path) -> None:
    with serving(tmp_path, "--websub", "false") as server:
        assert server.get("/websub").status == 404
        assert post_http(server.port, form("subscribe", "http://reader.example/")).status == 405
    assert not (tmp_path / "state.sqlite.hub.sqlite").exists()
