"""Requests the hub refuses at once, with a 4xx and one line, and then sends nothing to
anyone: bad parameters, topics that are not this site's feeds, and every callback the
address policy refuses (allow-private off) — checked by watching every socket connect
of the process, so the refused addresses are never contacted, not even tried."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from service.push import hub as hub_module
from service.push.hub import Hub

from support.subscriber import Subscriber
from support.waiting import wait_for
from support.websub import BASE, TOPIC, post, publish, settings_for


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with Subscriber() as running:
        yield running


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address this process tries to connect a socket to, from now on."""
    tried: list[Any] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        tried.append(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        tried.append(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return tried


def strict_hub(root: Path) -> Iterator[Hub]:
    publish(root / "feeds")
    running = Hub(settings_for(root, websub_allow_private="false"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    yield from strict_hub(tmp_path)


def refused_quietly(hub: Hub, subscriber: Subscriber, connects: list[Any],
                    fields: dict[str, str] | bytes, status: int, reason: str, **how: str) -> None:
    answer = post(hub, fields, **how)
    assert answer == (status, reason + "\n")
    time.sleep(0.2)  # what a verifier would have sent by now
    assert hub.store.pending() == 0
    assert subscriber.requests() == []
    assert connects == []


def sub(callback: str, topic: str = TOPIC, **extra: str) -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback, **extra}


# The SSRF list of the issue and then some: each refused, and nothing tried.
REFUSED = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("[::1]", "::1 is a loopback address"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 resolves to ::ffff:7f00:1, which is a form of "
                           "127.0.0.1, a loopback address"),
    ("[2002:7f00:1::1]", "2002:7f00:1::1 is a form of 127.0.0.1, a loopback address"),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1 is a form of 127.0.0.1, a loopback address"),
    ("0x7f.1", "0x7f.1 resolves to 127.0.0.1, which is a loopback address"),
    ("2130706433", "2130706433 resolves to 127.0.0.1, which is a loopback address"),
    ("127.1", "127.1 resolves to 127.0.0.1, which is a loopback address"),
    ("localhost", "localhost resolves to 127.0.0.1, which is a loopback address"),
    ("10.0.0.1", "10.0.0.1 is a private address"),
    ("169.254.169.254", "169.254.169.254 is a link-local address"),
    ("100.64.0.1", "100.64.0.1 is a shared address (100.64.0.0/10)"),
    ("192.168.0.10", "192.168.0.10 is a private address"),
    ("[fd00::1]", "fd00::1 is a private address"),
    ("0.0.0.0", "0.0.0.0 is the unspecified address"),
]


@pytest.mark.parametrize(("host", "why"), REFUSED, ids=[h for h, _ in REFUSED])
def test_a_callback_the_policy_refuses_gets_403_and_no_request(
        hub: Hub, subscriber: Subscriber, connects: list[Any], host: str, why: str) -> None:
    port = subscriber.port  # where a loopback form would land, were it called
    refused_quietly(hub, subscriber, connects, sub(f"http://{host}:{port}/callback"), 403,
                    f"hub.callback: refused: {why}")


def test_an_unsubscribe_to_a_refused_callback_is_refused_too(
        hub: Hub, subscriber: Subscriber, connects: list[Any]) -> None:
    fields = sub(subscriber.url())
    fields["hub.mode"] = "unsubscribe"
    refused_quietly(hub, subscriber, connects, fields, 403,
                    "hub.callback: refused: 127.0.0.1 is a loopback address")


@pytest.mark.parametrize(("fields", "reason"), [
    ({"hub.topic": TOPIC, "hub.callback": "CB"}, "hub.mode: missing"),
    ({"hub.mode": "publish", "hub.topic": TOPIC, "hub.callback": "CB"},
     "hub.mode: expected subscribe or unsubscribe, got 'publish'"),
    ({"hub.mode": "subscribe", "hub.callback": "CB"}, "hub.topic: missing"),
    ({"hub.mode": "subscribe", "hub.topic": TOPIC}, "hub.callback: missing"),
    ({"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": ""}, "hub.callback: missing"),
    (sub("CB", **{"hub.lease_seconds": "ten days"}),
     "hub.lease_seconds: expected a whole number of seconds, got 'ten days'"),
    (sub("CB", **{"hub.lease_seconds": "-5"}),
     "hub.lease_seconds: expected a whole number of seconds, got '-5'"),
    (sub("CB", **{"hub.lease_seconds": "0"}),
     "hub.lease_seconds: expected a whole number of seconds, got '0'"),
    (sub("CB", **{"hub.secret": "s" * 200}), "hub.secret: must be shorter than 200 bytes"),
    (sub("CB", **{"hub.secret": "é" * 100}), "hub.secret: must be shorter than 200 bytes"),
    (sub("CB", **{"hub.verify_token": "t" * 201}),
     "hub.verify_token: must be at most 200 bytes"),
    (sub("CB", topic="https://elsewhere.example/feed"),
     f"hub.topic: not a feed of this site (its feeds are under {BASE}/)"),
    (sub("CB", topic=f"{BASE}/tags/harbour/"),
     f"hub.topic: {BASE}/tags/harbour/ is not a feed this site publishes (its feeds are "
     "/all.atom, .rss, .json and /tags/<slug>.atom, .rss, .json)"),
    (sub("CB", topic=f"{BASE}/tags/unknown.atom"),
     f"hub.topic: {BASE}/tags/unknown.atom is not a feed this site publishes (its feeds are "
     "/all.atom, .rss, .json and /tags/<slug>.atom, .rss, .json)"),
    (sub("CB", topic=f"{BASE}/tags/harbour.atom.gz"),
     f"hub.topic: {BASE}/tags/harbour.atom.gz is not a feed this site publishes (its feeds are "
     "/all.atom, .rss, .json and /tags/<slug>.atom, .rss, .json)"),
    (sub("ftp://reader.example/cb"), "hub.callback: refused: not an absolute http or https URL"),
    (sub("http://user@reader.example/cb"),
     "hub.callback: refused: a URL with user info (user@host) is not taken"),
    (sub("http://reader.example:0/cb"),
     "hub.callback: refused: its port is not a number from 1 to 65535"),
    (sub("http://reader.example:70000/cb"),
     "hub.callback: refused: its port is not a number from 1 to 65535"),
    ([*sub("CB").items(), ("hub.topic", f"{BASE}/all.atom")],
     "hub.topic: given twice, with different values"),
])
def test_a_bad_request_gets_a_4xx_and_one_line(hub: Hub, subscriber: Subscriber,
                                               connects: list[Any], fields: Any,
                                               reason: str) -> None:
    callback = subscriber.url()
    fields = [(k, callback if v == "CB" else v) for k, v in (
        fields.items() if isinstance(fields, dict) else fields)]
    status = 403 if "refused" in reason else 400
    answer = post(hub, fields)
    assert answer == (status, reason + "\n")
    time.sleep(0.2)
    assert hub.store.pending() == 0 and subscriber.requests() == [] and connects == []


def test_a_secret_of_199_bytes_is_taken(tmp_path: Path, subscriber: Subscriber) -> None:
    publish(tmp_path / "feeds")
    hub = Hub(settings_for(tmp_path))  # allow-private on: the subscriber is on 127.0.0.1
    try:
        assert post(hub, sub(subscriber.url(), **{"hub.secret": "s" * 199}))[0] == 202
        assert hub.store.pending() == 1
    finally:
        hub.stop()


@pytest.mark.parametrize(("body", "how", "status", "reason"), [
    (b"hub.mode=subscribe", {"method": "GET"}, 405,
     "the hub takes POST requests: hub.mode=subscribe or unsubscribe, hub.topic, hub.callback"),
    (b"hub.mode=subscribe", {"method": "PUT"}, 405,
     "the hub takes POST requests: hub.mode=subscribe or unsubscribe, hub.topic, hub.callback"),
    (b'{"hub.mode": "subscribe"}', {"content_type": "application/json"}, 415,
     "expected a body of type application/x-www-form-urlencoded"),
    (b"hub.mode=" + b"x" * 70_000, {}, 413, "the body is larger than 65536 bytes"),
    (b"hub.mode=subscribe&hub.topic=%ff%fe", {}, 400, "the form is not UTF-8"),
    (b"&".join(b"f%d=1" % n for n in range(200)), {}, 400, "more than 100 form fields"),
])
def test_what_is_not_a_form_post_is_refused(hub: Hub, subscriber: Subscriber,
                                            connects: list[Any], body: bytes, how: dict[str, str],
                                            status: int, reason: str) -> None:
    refused_quietly(hub, subscriber, connects, body, status, reason, **how)


def test_a_form_with_a_charset_is_a_form(hub: Hub, subscriber: Subscriber,
                                         connects: list[Any]) -> None:
    refused_quietly(hub, subscriber, connects, b"hub.mode=subscribe", 400, "hub.topic: missing",
                    content_type="application/x-www-form-urlencoded; charset=UTF-8")


def test_before_the_first_build_a_topic_is_asked_again_later(tmp_path: Path,
                                                             subscriber: Subscriber) -> None:
    hub = Hub(settings_for(tmp_path))
    try:
        assert post(hub, sub(subscriber.url())) == (
            503, "hub.topic: this site has published nothing yet: try again once it has\n")
    finally:
        hub.stop()


@pytest.mark.parametrize("name", ["tags/ferries.atom", "tags/f%C3%A4hre.json"])
def test_a_feed_written_but_not_yet_in_the_manifest_is_asked_again_shortly(
        tmp_path: Path, hub: Hub, subscriber: Subscriber, connects: list[Any],
        name: str) -> None:
    # A pass writes the feeds, then the manifest: a reader may find a feed in between.
    path = tmp_path / "feeds" / unquote(name)
    path.write_text("<feed/>\n")
    answer = hub.receive(list(sub(subscriber.url(), topic=f"{BASE}/{name}").items()))
    assert (answer.status, answer.reason, answer.retry_after) == (
        503, "hub.topic: this feed is being published: try again in a few seconds", 5)
    path.unlink()  # and once it is gone (the pass failed, or it never was), it is not a feed
    assert post(hub, sub(subscriber.url(), topic=f"{BASE}/{name}"))[0] == 400
    assert hub.store.pending() == 0 and connects == []


def test_a_feed_file_older_than_the_manifest_is_a_leftover_not_a_feed(
        tmp_path: Path, hub: Hub, subscriber: Subscriber) -> None:
    leftover = tmp_path / "feeds" / "tags" / "ferries.atom"
    leftover.write_text("<feed/>\n")
    os.utime(leftover, (1_700_000_000, 1_700_000_000))  # before the manifest was written
    answer = post(hub, sub(subscriber.url(), topic=f"{BASE}/tags/ferries.atom"))
    assert answer[0] == 400 and "is not a feed this site publishes" in answer[1]


@pytest.mark.timed  # a latency: run alone
def test_a_name_that_resolves_slowly_is_asked_again_later_and_holds_no_thread_long(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "LOOKUP_WAIT", 0.2)
    release = threading.Event()

    def slow(_host: str, _port: int) -> list[str]:
        release.wait(5)
        return ["93.184.216.34"]

    publish(tmp_path / "feeds")
    slow_hub = Hub(settings_for(tmp_path, websub_allow_private="false"), resolver=slow)
    try:
        began = time.monotonic()
        assert post(slow_hub, sub("http://slow.example/cb")) == (
            503, "hub.callback: slow.example did not resolve within 0.2 s: try again\n")
        assert time.monotonic() - began < 1.0
        for _ in range(hub_module.LOOKUPS - 1):  # every lookup thread is taken now
            post(slow_hub, sub("http://slow.example/cb"))
        assert post(slow_hub, sub("http://slow.example/cb")) == (
            503, "too many callback names are being looked up: try again\n")
        assert slow_hub.store.pending() == 0
    finally:
        release.set()
        slow_hub.stop()


def test_the_subscribers_of_a_feed_that_is_gone_may_still_unsubscribe(
        tmp_path: Path, subscriber: Subscriber) -> None:
    publish(tmp_path / "feeds")
    running = Hub(settings_for(tmp_path))
    running.start()
    try:
        callback = subscriber.url("/leaving")
        assert post(running, sub(callback))[0] == 202
        wait_for(lambda: running.store.subscription(TOPIC, callback), 5)
        publish(tmp_path / "feeds", ("all.atom", "index.html"))
        assert post(running, sub(subscriber.url("/other")))[0] == 400  # no new ones
        leave = sub(callback)
        leave["hub.mode"] = "unsubscribe"
        assert post(running, leave)[0] == 202
        subscriber.wait("/leaving", mode="unsubscribe")
        wait_for(lambda: running.store.subscription(TOPIC, callback) is None, 5)
    finally:
        running.stop()
