"""Distribution in this process: a changed feed's exact bytes to each of its
subscribers, signed when they gave a secret; nothing on verification; 410 ends a
subscription; failures retried, a newer feed replacing a pending retry; what is owed
survives a stop, and a change made while stopped is pushed at start."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.push import deliver
from service.push.hub import Hub
from service.web.http import CONTENT_TYPES

from support.subscriber import Received, Reply, Subscriber
from support.waiting import wait_for
from support.websub import BASE, FEEDS, TOPIC, post, publish, settings_for

ALL = f"{BASE}/all.atom"


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with Subscriber() as running:
        yield running


def started(root: Path, **flags: str) -> Hub:
    hub = Hub(settings_for(root, **flags))
    hub.start()
    return hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    publish(tmp_path / "feeds")
    running = started(tmp_path)
    yield running
    running.stop()


def subscribed(hub: Hub, callback: str, topic: str = TOPIC, **extra: str) -> None:
    assert post(hub, {"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback,
                      **extra})[0] == 202
    wait_for(lambda: hub.store.subscription(topic, callback), 5, f"{callback} not verified")


def change(feeds: Path, **contents: bytes) -> None:
    """Publish new bytes for some feeds (keyword: the file with / and . as _)."""
    files = {name.replace("__", "/").replace("_", "."): data for name, data in contents.items()}
    current = {name: (feeds / name).read_bytes() for name in FEEDS}
    publish(feeds, FEEDS, {**current, **files})


def pushes(subscriber: Subscriber, path: str) -> list[Received]:
    return [r for r in subscriber.requests(path) if r.method == "POST"]


def test_the_web_and_the_hub_give_each_feed_the_same_content_type() -> None:
    assert {k: CONTENT_TYPES[k] for k in deliver.CONTENT_TYPES} == deliver.CONTENT_TYPES


@pytest.mark.timed  # a latency: run alone
def test_a_changed_feed_goes_to_its_subscribers_exactly_and_only_to_them(
        hub: Hub, subscriber: Subscriber, tmp_path: Path) -> None:
    subscribed(hub, subscriber.url("/signed"), **{"hub.secret": "s3cret"})
    subscribed(hub, subscriber.url("/plain"))
    subscribed(hub, subscriber.url("/other"), topic=ALL)
    time.sleep(0.3)
    assert pushes(subscriber, "/signed") == []  # verification pushes nothing (websub.rocks 103)
    body = b"<?xml version='1.0'?><feed>new harbour news</feed>\n"
    began = time.time()
    change(tmp_path / "feeds", tags__harbour_atom=body)
    (signed,) = wait_for(lambda: pushes(subscriber, "/signed"), 5)
    (plain,) = wait_for(lambda: pushes(subscriber, "/plain"), 5)
    assert signed.at - began < 1.0
    for push in (signed, plain):
        assert push.body == body
        assert push.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert push.headers["content-length"] == str(len(body))
        assert push.headers["link"] == (f'<{BASE}/websub>; rel="hub", <{TOPIC}>; rel="self"')
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signed.headers["x-hub-signature"] == f"sha256={expected}"
    assert "x-hub-signature" not in plain.headers
    time.sleep(0.3)
    assert pushes(subscriber, "/other") == []  # all.atom did not change
    assert len(pushes(subscriber, "/signed")) == 1 and hub.distributor.outbox.pending() == 0


@pytest.mark.parametrize("name", ["sha1", "sha512"])
def test_the_signature_may_use_another_hash_for_older_subscribers(
        tmp_path: Path, subscriber: Subscriber, name: str) -> None:
    publish(tmp_path / "feeds")
    hub = started(tmp_path, websub_signature=name)
    try:
        subscribed(hub, subscriber.url(f"/{name}"), **{"hub.secret": "s3cret"})
        body = b"<feed>signed otherwise</feed>\n"
        change(tmp_path / "feeds", tags__harbour_atom=body)
        (push,) = wait_for(lambda: pushes(subscriber, f"/{name}"), 5)
        expected = hmac.new(b"s3cret", body, name).hexdigest()
        assert push.headers["x-hub-signature"] == f"{name}={expected}"
    finally:
        hub.stop()


def test_the_push_names_every_hub_the_feeds_name(tmp_path: Path,
                                                 subscriber: Subscriber) -> None:
    publish(tmp_path / "feeds")
    hub = started(tmp_path, websub_external_hubs="https://hub.example.net/")
    try:
        subscribed(hub, subscriber.url("/hubs"))
        change(tmp_path / "feeds", tags__harbour_atom=b"<feed>two hubs</feed>\n")
        (push,) = wait_for(lambda: pushes(subscriber, "/hubs"), 5)
        assert push.headers["link"] == (f'<{BASE}/websub>; rel="hub", '
                                        f'<https://hub.example.net/>; rel="hub", '
                                        f'<{TOPIC}>; rel="self"')
    finally:
        hub.stop()


def test_each_format_keeps_its_content_type_and_the_hub_url_can_be_another(
        tmp_path: Path, subscriber: Subscriber) -> None:
    """websub.rocks 105 and 106 (a topic of another type, its Content-Type and bytes
    passed through exactly), for the only topics this hub takes: its own feeds."""
    publish(tmp_path / "feeds")
    hub = started(tmp_path, websub_url="https://hub.example.org/websub")
    try:
        for fmt in ("rss", "json"):
            subscribed(hub, subscriber.url(f"/{fmt}"), topic=f"{BASE}/tags/harbour.{fmt}")
        change(tmp_path / "feeds", tags__harbour_rss=b"<rss/>", tags__harbour_json=b"{}")
        (rss,) = wait_for(lambda: pushes(subscriber, "/rss"), 5)
        (json,) = wait_for(lambda: pushes(subscriber, "/json"), 5)
        assert rss.headers["content-type"] == "application/rss+xml; charset=utf-8"
        assert json.headers["content-type"] == "application/feed+json; charset=utf-8"
        assert json.headers["link"].startswith('<https://hub.example.org/websub>; rel="hub"')
    finally:
        hub.stop()


def test_410_ends_the_subscription(hub: Hub, subscriber: Subscriber, tmp_path: Path) -> None:
    subscribed(hub, subscriber.url("/gone"))
    subscriber.replies["/gone"] = lambda r: Reply(410) if r.method == "POST" else Reply(200)
    change(tmp_path / "feeds", tags__harbour_atom=b"one")
    wait_for(lambda: hub.store.subscription(TOPIC, subscriber.url("/gone")) is None, 5)
    change(tmp_path / "feeds", tags__harbour_atom=b"two")
    time.sleep(0.5)
    assert len(pushes(subscriber, "/gone")) == 1


def test_a_failed_push_is_retried_and_a_newer_feed_replaces_the_retry(
        hub: Hub, subscriber: Subscriber, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    monkeypatch.setattr(deliver, "RETRIES", (1.0, 1.0))
    subscribed(hub, subscriber.url("/flaky"))
    answers = iter([Reply(500)])
    subscriber.replies["/flaky"] = lambda r: next(answers, Reply(204)) if r.method == "POST" \
        else Reply(200, r.params["hub.challenge"].encode())
    change(tmp_path / "feeds", tags__harbour_atom=b"v1")
    wait_for(lambda: pushes(subscriber, "/flaky"), 5)
    change(tmp_path / "feeds", tags__harbour_atom=b"v2")  # before the retry of v1
    wait_for(lambda: len(pushes(subscriber, "/flaky")) == 2, 5)
    time.sleep(1.5)  # the retry of v1 would have come by now
    assert [p.body for p in pushes(subscriber, "/flaky")] == [b"v1", b"v2"]
    assert hub.distributor.outbox.pending() == 0


def test_a_push_given_up_leaves_the_subscription_for_the_next_change(
        hub: Hub, subscriber: Subscriber, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    monkeypatch.setattr(deliver, "RETRIES", (0.1, 0.1))
    subscribed(hub, subscriber.url("/down"))
    subscriber.replies["/down"] = lambda r: Reply(503) if r.method == "POST" else Reply(
        200, r.params["hub.challenge"].encode())
    change(tmp_path / "feeds", tags__harbour_atom=b"lost")
    wait_for(lambda: len(pushes(subscriber, "/down")) == 3, 5)
    wait_for(lambda: hub.distributor.outbox.pending() == 0, 5)
    time.sleep(0.4)
    assert len(pushes(subscriber, "/down")) == 3  # the first try and the two retries
    assert hub.store.subscription(TOPIC, subscriber.url("/down")) is not None
    subscriber.replies.pop("/down")
    change(tmp_path / "feeds", tags__harbour_atom=b"next")
    wait_for(lambda: [p.body for p in pushes(subscriber, "/down")][-1:] == [b"next"], 5)


@pytest.mark.parametrize("answer", [Reply(302, b"", (("Location", "/moved"),)), Reply(404)])
def test_a_redirect_or_a_4xx_is_a_failure_and_nothing_is_followed(
        hub: Hub, subscriber: Subscriber, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        answer: Reply) -> None:
    monkeypatch.setattr(deliver, "RETRIES", (0.2,))
    subscribed(hub, subscriber.url("/odd"))
    subscriber.replies["/odd"] = lambda r: answer if r.method == "POST" else Reply(
        200, r.params["hub.challenge"].encode())
    change(tmp_path / "feeds", tags__harbour_atom=b"x")
    wait_for(lambda: len(pushes(subscriber, "/odd")) == 2, 5)
    assert subscriber.requests("/moved") == []


def test_no_push_after_unsubscribe_or_once_the_lease_ended(tmp_path: Path,
                                                           subscriber: Subscriber) -> None:
    publish(tmp_path / "feeds")
    hub = started(tmp_path, websub_lease_min="1")
    try:
        subscribed(hub, subscriber.url("/short"), **{"hub.lease_seconds": "1"})
        subscribed(hub, subscriber.url("/leaving"))
        assert post(hub, {"hub.mode": "unsubscribe", "hub.topic": TOPIC,
                          "hub.callback": subscriber.url("/leaving")})[0] == 202
        wait_for(lambda: hub.store.subscription(TOPIC, subscriber.url("/leaving")) is None, 5)
        time.sleep(1.2)  # the short lease ends
        change(tmp_path / "feeds", tags__harbour_atom=b"after")
        time.sleep(1.0)
        assert pushes(subscriber, "/short") == [] and pushes(subscriber, "/leaving") == []
        assert hub.distributor.outbox.pending() == 0
    finally:
        hub.stop()


def test_what_is_owed_survives_a_stop_and_a_change_while_stopped_is_pushed_at_start(
        tmp_path: Path, subscriber: Subscriber) -> None:
    publish(tmp_path / "feeds")
    first = started(tmp_path)
    subscribed(first, subscriber.url("/owed"))
    subscribed(first, subscriber.url("/later"), topic=ALL)
    hold = threading.Event()

    def held(_request: Received) -> Reply:
        hold.wait(10)
        return Reply(204)

    subscriber.replies["/owed"] = held
    change(tmp_path / "feeds", tags__harbour_atom=b"in flight")
    wait_for(lambda: pushes(subscriber, "/owed"), 5)
    first.stop()  # the push in flight is cut short: still owed
    hold.set()
    change(tmp_path / "feeds", all_atom=b"while stopped")
    subscriber.replies.pop("/owed")
    second = started(tmp_path)
    try:
        wait_for(lambda: len(pushes(subscriber, "/owed")) == 2, 10)
        (later,) = wait_for(lambda: pushes(subscriber, "/later"), 10)
        assert later.body == b"while stopped"
        wait_for(lambda: second.distributor.outbox.pending() == 0, 5)
    finally:
        second.stop()


def test_pushes_to_one_host_run_a_few_at_a_time(hub: Hub, subscriber: Subscriber,
                                                tmp_path: Path) -> None:
    running, most, lock = [0], [0], threading.Lock()

    def slow(request: Received) -> Reply:
        if request.method != "POST":
            return Reply(200, request.params["hub.challenge"].encode())
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return Reply(204)

    for n in range(10):
        subscriber.replies[f"/n{n}"] = slow
        subscribed(hub, subscriber.url(f"/n{n}"))
    change(tmp_path / "feeds", tags__harbour_atom=b"burst")
    wait_for(lambda: all(pushes(subscriber, f"/n{n}") for n in range(10)), 10)
    assert most[0] == deliver.PER_HOST


@pytest.mark.timed  # a latency: run alone
def test_the_outbox_is_not_read_again_and_again_while_pushes_run(
        hub: Hub, subscriber: Subscriber, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    """It was read every WATCH_EVERY while any push ran: 1,000 rows, 20 times a second,
    through a burst of 1,000 pushes."""
    def slow(request: Received) -> Reply:
        if request.method != "POST":
            return Reply(200, request.params["hub.challenge"].encode())
        time.sleep(0.6)
        return Reply(204)

    for n in range(5):
        subscriber.replies[f"/slow{n}"] = slow
        subscribed(hub, subscriber.url(f"/slow{n}"))
    outbox = hub.distributor.outbox
    reads: list[float] = []
    due = outbox.due
    monkeypatch.setattr(outbox, "due", lambda *a, **k: reads.append(time.time()) or due(*a, **k))
    change(tmp_path / "feeds", tags__harbour_atom=b"slow news")
    wait_for(lambda: all(pushes(subscriber, f"/slow{n}") for n in range(5)), 5)
    wait_for(lambda: outbox.pending() == 0, 5)
    time.sleep(0.2)
    assert 1 <= len(reads) <= 2, reads


@pytest.mark.timed  # a latency: run alone
def test_a_newer_feed_behind_a_push_in_flight_follows_it_at_once_and_never_overtakes(
        hub: Hub, subscriber: Subscriber, tmp_path: Path) -> None:
    released: list[float] = []
    hold = threading.Event()

    def held(request: Received) -> Reply:
        if request.method != "POST":
            return Reply(200, request.params["hub.challenge"].encode())
        if request.body == b"v1":
            hold.wait(5)
            released.append(time.time())
        return Reply(204)

    subscriber.replies["/held"] = held
    subscribed(hub, subscriber.url("/held"))
    change(tmp_path / "feeds", tags__harbour_atom=b"v1")
    wait_for(lambda: pushes(subscriber, "/held"), 5)
    change(tmp_path / "feeds", tags__harbour_atom=b"v2")  # while v1 is on its way
    time.sleep(0.3)
    assert [p.body for p in pushes(subscriber, "/held")] == [b"v1"]  # one at a time
    hold.set()
    (_, second) = wait_for(lambda: pushes(subscriber, "/held")[1:] and pushes(
        subscriber, "/held"), 5)
    assert second.body == b"v2" and second.at - released[0] < 0.5
    wait_for(lambda: hub.distributor.outbox.pending() == 0, 5)
    time.sleep(0.2)
    assert [p.body for p in pushes(subscriber, "/held")] == [b"v1", b"v2"]
