"""The hub in this process, its endpoint called as WSGI, its callbacks real HTTP servers
on 127.0.0.1: the websub.rocks hub tests 100-104 as they bear on subscription and
verification, and what they miss (verify_token, leases, the old subscription kept,
denial, retries, the callback's own query, per-host limits, bad requests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from service.config import StartupError
from service.push import verify
from service.push.endpoint import mounted
from service.push.hub import Hub
from service.push.store import Subscription

from support.subscriber import Received, Reply, Subscriber
from support.waiting import wait_for
from support.websub import TOPIC, post, publish, settings_for


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with Subscriber() as running:
        yield running


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    publish(tmp_path / "feeds")
    running = Hub(settings_for(tmp_path))
    running.start()
    yield running
    running.stop()


def subscribe(hub: Hub, callback: str, topic: str = TOPIC, **extra: str) -> tuple[int, str]:
    return post(hub, {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback,
                      **extra})


def active(hub: Hub, callback: str, topic: str = TOPIC) -> Subscription | None:
    return hub.store.subscription(topic, callback)


def rocks(topic: str) -> Any:
    """The websub.rocks callback: 404 unless hub.mode, hub.topic (this one) and
    hub.challenge are there, and hub.lease_seconds on subscribe; then the challenge."""
    def reply(request: Received) -> Reply:
        p = request.params
        if (p.get("hub.mode") not in ("subscribe", "unsubscribe") or p.get("hub.topic") != topic
                or not p.get("hub.challenge")
                or (p["hub.mode"] == "subscribe" and "hub.lease_seconds" not in p)):
            return Reply(404, b"bad verification request")
        return Reply(200, p["hub.challenge"].encode(),
                     (("Content-Type", "application/octet-stream"),))
    return reply


@pytest.mark.timed  # a latency: run alone
def test_100_subscribe_is_accepted_at_once_then_verified(hub: Hub, subscriber: Subscriber
                                                         ) -> None:
    subscriber.replies["/100"] = rocks(TOPIC)
    began = time.monotonic()
    status, text = subscribe(hub, subscriber.url("/100"))
    assert (status, text) == (202, "accepted: the callback will be asked to confirm this "
                                   "subscribe request\n")
    assert time.monotonic() - began < 1.0
    (asked,) = subscriber.wait("/100")
    assert asked.method == "GET"
    assert asked.params["hub.mode"] == "subscribe" and asked.params["hub.topic"] == TOPIC
    assert len(asked.params["hub.challenge"]) >= 43  # 32 random bytes
    assert asked.params["hub.lease_seconds"] == "3600"
    assert "hub.verify_token" not in asked.params
    found = wait_for(lambda: active(hub, subscriber.url("/100")), 5)
    assert found.secret is None and found.lease_seconds == 3600
    assert abs(found.expires - (asked.at + 3600)) < 2


def test_101_a_secret_is_kept_for_signing(hub: Hub, subscriber: Subscriber) -> None:
    subscriber.replies["/101"] = rocks(TOPIC)
    assert subscribe(hub, subscriber.url("/101"), **{"hub.secret": "Twenty random chars!"}
                     )[0] == 202
    found = wait_for(lambda: active(hub, subscriber.url("/101")), 5)
    assert found.secret == "Twenty random chars!"


def test_102_unknown_parameters_are_ignored(hub: Hub, subscriber: Subscriber) -> None:
    subscriber.replies["/102"] = rocks(TOPIC)
    assert subscribe(hub, subscriber.url("/102"), foo="bar", **{"hub.foo": "hub.bar"}
                     )[0] == 202
    assert wait_for(lambda: active(hub, subscriber.url("/102")), 5)
    assert "foo" not in subscriber.requests("/102")[0].params


def test_103_resubscribing_verifies_again_and_keeps_one_subscription(
        hub: Hub, subscriber: Subscriber) -> None:
    subscriber.replies["/103"] = rocks(TOPIC)
    callback = subscriber.url("/103")
    subscribe(hub, callback, **{"hub.secret": "first"})
    wait_for(lambda: active(hub, callback), 5)
    assert subscribe(hub, callback, **{"hub.secret": "second"})[0] == 202
    first, second = subscriber.wait("/103", count=2)
    assert first.params["hub.challenge"] != second.params["hub.challenge"]  # single use
    wait_for(lambda: (found := active(hub, callback)) and found.secret == "second", 5)
    assert len(hub.store.active(TOPIC, time.time())) == 1


def test_104_unsubscribe_is_verified_then_ends_the_subscription(hub: Hub,
                                                                subscriber: Subscriber) -> None:
    subscriber.replies["/104"] = rocks(TOPIC)
    callback = subscriber.url("/104")
    subscribe(hub, callback)
    wait_for(lambda: active(hub, callback), 5)
    assert post(hub, {"hub.mode": "unsubscribe", "hub.topic": TOPIC, "hub.callback": callback,
                      "hub.lease_seconds": "99"})[0] == 202
    (asked,) = subscriber.wait("/104", mode="unsubscribe")
    assert asked.params["hub.topic"] == TOPIC and "hub.lease_seconds" not in asked.params
    wait_for(lambda: active(hub, callback) is None, 5)


def test_a_verify_token_is_echoed_for_pubsubhubbub_0_3_subscribers(hub: Hub,
                                                                   subscriber: Subscriber
                                                                   ) -> None:
    subscribe(hub, subscriber.url("/token"), **{"hub.verify_token": "t0k3n",
                                                "hub.verify": "async"})
    (asked,) = subscriber.wait("/token")
    assert asked.params["hub.verify_token"] == "t0k3n"
    assert wait_for(lambda: active(hub, subscriber.url("/token")), 5)


@pytest.mark.parametrize(("asked", "granted"), [("5", 60), ("600", 600), ("1000000000", 7200),
                                                (None, 3600)])
def test_leases_are_granted_within_the_bounds(hub: Hub, subscriber: Subscriber,
                                              asked: str | None, granted: int) -> None:
    extra = {} if asked is None else {"hub.lease_seconds": asked}
    subscribe(hub, subscriber.url("/lease"), **extra)
    (request,) = subscriber.wait("/lease")
    assert request.params["hub.lease_seconds"] == str(granted)
    found = wait_for(lambda: active(hub, subscriber.url("/lease")), 5)
    assert found.lease_seconds == granted
    assert abs(found.expires - (request.at + granted)) < 2


def test_lease_bounds_that_disagree_are_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="--websub-lease / SEEDFEEDS_WEBSUB_LEASE: 10 is "
                       "not within"):
        Hub(settings_for(tmp_path, websub_lease="10"))


@pytest.mark.parametrize("reply", [
    Reply(200, b"not the challenge"), Reply(404), Reply(403), Reply(302, b"",
                                                                    (("Location", "/ok"),)),
    Reply(200, b""), Reply(204)], ids=["wrong-body", "404", "403", "redirect", "empty", "204"])
def test_a_failed_verification_keeps_the_old_subscription(hub: Hub, subscriber: Subscriber,
                                                          reply: Reply) -> None:
    callback = subscriber.url("/keep")
    subscribe(hub, callback, **{"hub.secret": "old"})
    wait_for(lambda: active(hub, callback), 5)
    before = active(hub, callback)
    subscriber.replies["/keep"] = lambda _r: reply
    subscribe(hub, callback, **{"hub.secret": "new"})
    post(hub, {"hub.mode": "unsubscribe", "hub.topic": TOPIC, "hub.callback": callback})
    subscriber.wait("/keep", count=2)  # the subscribe's verification, then the unsubscribe's
    wait_for(lambda: hub.store.pending() == 0, 5)
    assert active(hub, callback) == before
    assert subscriber.requests("/ok") == []  # no redirect followed


def test_an_echo_of_an_older_challenge_does_not_confirm(hub: Hub, subscriber: Subscriber) -> None:
    seen: list[str] = []

    def replay(request: Received) -> Reply:
        seen.append(request.params["hub.challenge"])
        return Reply(200, seen[0].encode())  # always the first challenge

    subscriber.replies["/replay"] = replay
    callback = subscriber.url("/replay")
    subscribe(hub, callback, **{"hub.secret": "one"})
    wait_for(lambda: active(hub, callback), 5)
    subscribe(hub, callback, **{"hub.secret": "two"})
    subscriber.wait("/replay", count=2)
    wait_for(lambda: hub.store.pending() == 0, 5)
    found = active(hub, callback)
    assert found is not None and found.secret == "one"


def test_the_callback_keeps_its_own_query(hub: Hub, subscriber: Subscriber) -> None:
    callback = subscriber.url("/api/pshb.php?k=abc123&x=")
    subscribe(hub, callback)
    (asked,) = subscriber.wait("/api/pshb.php")
    assert asked.target.startswith("/api/pshb.php?k=abc123&x=&hub.mode=subscribe&")
    assert wait_for(lambda: active(hub, callback), 5)


def test_a_topic_gone_by_verification_is_denied(hub: Hub, subscriber: Subscriber,
                                                tmp_path: Path) -> None:
    hold = threading.Event()

    def held(_request: Received) -> Reply:
        hold.wait(5)
        return Reply(200)

    for n in range(verify.PER_HOST):  # keep every lane of this host busy meanwhile
        subscriber.replies[f"/first{n}"] = held
        subscribe(hub, subscriber.url(f"/first{n}"))
    subscriber.wait("/first0")
    subscribe(hub, subscriber.url("/denied"))
    publish(tmp_path / "feeds", ("all.atom", "index.html"))  # the tag's feeds are gone
    hold.set()
    (denied,) = subscriber.wait("/denied")
    assert denied.params["hub.mode"] == "denied" and denied.params["hub.topic"] == TOPIC
    assert "not a feed this site publishes" in denied.params["hub.reason"]
    wait_for(lambda: hub.store.pending() == 0, 5)
    assert active(hub, subscriber.url("/denied")) is None


def test_an_unreachable_callback_is_asked_again_then_given_up(hub: Hub, subscriber: Subscriber,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setattr(verify, "RETRIES", (0.2, 0.2))
    answers = iter([Reply(503), Reply(200, b"", delay=0), None])

    def flaky(request: Received) -> Reply:
        answer = next(answers, None)
        return answer or Reply(200, request.params["hub.challenge"].encode())

    subscriber.replies["/flaky"] = flaky
    subscribe(hub, subscriber.url("/flaky"))
    subscriber.wait("/flaky", count=2)  # a 503 is asked again; a wrong body is not
    wait_for(lambda: hub.store.pending() == 0, 5)
    assert active(hub, subscriber.url("/flaky")) is None
    subscriber.replies["/down"] = lambda _r: Reply(503)
    subscribe(hub, subscriber.url("/down"))
    subscriber.wait("/down", count=3, timeout=5)  # the first try and two retries
    wait_for(lambda: hub.store.pending() == 0, 5)
    time.sleep(0.5)
    assert len(subscriber.requests("/down")) == 3


def test_verifications_to_one_host_run_a_few_at_a_time(hub: Hub, subscriber: Subscriber) -> None:
    running, most, lock = [0], [0], threading.Lock()

    def slow(request: Received) -> Reply:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return Reply(200, request.params["hub.challenge"].encode())

    for n in range(8):
        subscriber.replies[f"/many{n}"] = slow
        assert subscribe(hub, subscriber.url(f"/many{n}"))[0] == 202
    wait_for(lambda: all(active(hub, subscriber.url(f"/many{n}")) for n in range(8)), 10)
    assert most[0] == verify.PER_HOST


def test_a_request_pending_at_a_stop_is_verified_after_the_restart(tmp_path: Path,
                                                                   subscriber: Subscriber
                                                                   ) -> None:
    publish(tmp_path / "feeds")
    first = Hub(settings_for(tmp_path))
    first.start()
    subscriber.replies["/restart"] = lambda _r: Reply(200, b"", delay=3.0)  # never confirms
    subscribe(first, subscriber.url("/restart"), **{"hub.secret": "kept"})
    subscriber.wait("/restart")
    first.stop()  # gives up waiting for the answer: the request stays in the store
    subscriber.replies.pop("/restart")
    second = Hub(settings_for(tmp_path))
    second.start()
    try:
        second_ask = subscriber.wait("/restart", count=2)[1]
        assert second_ask.params["hub.challenge"] != subscriber.requests("/restart")[0].params[
            "hub.challenge"]
        found = wait_for(lambda: active(second, subscriber.url("/restart")), 10)
        assert found.secret == "kept"
    finally:
        second.stop()


def test_the_endpoint_is_mounted_in_front_of_the_web_app_at_its_path_only(hub: Hub) -> None:
    seen: list[str] = []

    def web(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["PATH_INFO"])
        start_response("200 OK", [])
        return [b"web"]

    app = mounted(hub, web)
    for path in ("/all.atom", "/websub/", "/websubx", "/"):
        environ: dict[str, Any] = {"PATH_INFO": path}
        setup_testing_defaults(environ)
        assert app(environ, lambda *_: None) == [b"web"]
    assert seen == ["/all.atom", "/websub/", "/websubx", "/"]
    environ = {"PATH_INFO": "/websub", "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    statuses: list[str] = []
    app(environ, lambda status, _headers: statuses.append(status))
    assert statuses == ["405 Method Not Allowed"]
