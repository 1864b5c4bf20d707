"""What the hub takes from whom: rate limits per client address and per callback host,
caps on subscriptions per callback host and in total, sized so that a reader that
imports the whole OPML at once gets every subscription; what is refused is answered
at once and its callback hears nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from service.push.limits import Rate, Total, retry_after

from support.client import request
from support.liveserver import LiveServer
from support.subscriber import Subscriber
from support.waiting import wait_for
from support.websub import FORM, rows

TOPIC = "http://news.test/tags/harbour.atom"
SEED = "Ferry returns to the harbour. Harbour | Transport\n\nIt is back.\n"
PRIVATE = ("--websub-allow-private", "true")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def subscribe(port: int, callback: str, topic: str = TOPIC,
              client: str | None = None) -> tuple[int, str | None, str]:
    """Status, Retry-After and text of one subscribe request (from ``client``, as a
    trusted proxy would name it)."""
    headers = {"Content-Type": FORM}
    if client is not None:
        headers["X-Forwarded-For"] = f"203.0.113.250, {client}"
    body = urlencode({"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": callback})
    reply = request(port, "/websub", headers, "POST", body.encode())
    return reply.status, reply.header("Retry-After"), reply.body.decode()


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Subscriber]:
    with Subscriber() as running:
        yield running


def serving(root: Path, *options: str) -> LiveServer:
    server = LiveServer(root, *PRIVATE, *options)
    (server.seeds / "news.txt").write_text(SEED, encoding="utf-8")
    return server


# --- the buckets ----------------------------------------------------------------------

def test_a_rate_takes_a_minutes_worth_at_once_then_waits() -> None:
    clock = Clock()
    rate = Rate(120, clock)
    assert [rate.take("a") for _ in range(120)] == [0.0] * 120
    assert rate.take("a") == pytest.approx(0.5)  # 2 a second
    assert rate.take("b") == 0.0  # another key has its own bucket
    clock.now += 0.5
    assert rate.take("a") == 0.0


def test_a_refused_request_takes_nothing() -> None:
    clock = Clock()
    rate = Rate(60, clock)
    for _ in range(60):
        rate.take("a")
    for _ in range(100):
        assert rate.take("a") > 0
    clock.now += 1.0
    assert rate.take("a") == 0.0


def test_full_buckets_are_forgotten_when_there_are_many(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr("service.push.limits.PRUNE_ABOVE", 100)
    clock = Clock()
    rate = Rate(60, clock)
    for number in range(100):
        rate.take(f"client-{number}")
    clock.now += 60.0  # every bucket full again
    rate.take("newcomer")
    assert len(rate._buckets) == 1


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert (retry_after(0.01), retry_after(1.0), retry_after(1.2)) == (1, 1, 2)


def test_a_total_is_counted_again_only_now_and_then() -> None:
    clock, counts = Clock(), []

    def count() -> int:
        counts.append(1)
        return 7

    total = Total(count, clock)
    assert total.value() == 7
    total.added()
    assert total.value() == 8
    clock.now += 10.0
    assert total.value() == 7
    assert len(counts) == 2


# --- over HTTP --------------------------------------------------------------------------

def test_a_reader_importing_every_feed_at_once_gets_every_subscription(
        tmp_path: Path, subscriber: Subscriber) -> None:
    server = serving(tmp_path)
    for number in range(200):
        (server.seeds / f"place-{number}.txt").write_text(
            f"Story {number} of the harbour. Place {number} | Harbour\n\nText {number}.\n", "utf-8")
    with server:
        def feeds() -> list[str]:
            return re.findall(r'xmlUrl="([^"]+)"', server.body("/subscriptions.opml").decode())

        # files younger than the settle time are published once they have settled
        wait_for(lambda: len(feeds()) == 203, 10, "not every tag was published")
        topics = [url for feed in feeds() for url in (
            feed, feed.rsplit(".", 1)[0] + ".rss", feed.rsplit(".", 1)[0] + ".json")]
        assert len(set(topics)) >= 600
        answers = [subscribe(server.port, subscriber.url(f"/opml/{number}"), topic)
                   for number, topic in enumerate(topics)]
        assert {status for status, _, _ in answers} == {202}, answers[-1]
        wait_for(lambda: len(rows(tmp_path / "state.sqlite", "subscriptions")) == len(topics),
                 60, "not every subscription was verified")


def test_past_the_client_rate_a_request_gets_429_and_its_callback_nothing(
        tmp_path: Path, subscriber: Subscriber) -> None:
    with serving(tmp_path, "--websub-client-rate", "5") as server:
        answers = [subscribe(server.port, subscriber.url(f"/rate/{n}")) for n in range(6)]
        assert [status for status, _, _ in answers] == [202] * 5 + [429]
        _, wait, text = answers[-1]
        assert wait is not None and 1 <= int(wait) <= 12
        assert text.startswith("too many subscription requests from 127.0.0.1: try again in")
        subscriber.wait("/rate/4")
        assert not subscriber.requests("/rate/5")


def test_behind_a_trusted_proxy_each_client_has_its_own_rate(tmp_path: Path,
                                                           subscriber: Subscriber) -> None:
    with serving(tmp_path, "--websub-client-rate", "2", "--trusted-proxy", "127.0.0.1") as server:
        statuses = [subscribe(server.port, subscriber.url(f"/proxy/{client}/{n}"),
                              client=f"198.51.100.{client}")[0]
                    for client in (1, 2) for n in range(3)]
        assert statuses == [202, 202, 429, 202, 202, 429]


def test_an_untrusted_forwarded_header_changes_nothing(tmp_path: Path,
                                                      subscriber: Subscriber) -> None:
    with serving(tmp_path, "--websub-client-rate", "2") as server:
        statuses = [subscribe(server.port, subscriber.url(f"/liar/{n}"),
                              client=f"198.51.100.{n}")[0] for n in range(3)]
        assert statuses == [202, 202, 429]


def test_past_the_callback_host_rate_any_client_gets_429(tmp_path: Path,
                                                        subscriber: Subscriber) -> None:
    with serving(tmp_path, "--websub-host-rate", "3", "--trusted-proxy", "127.0.0.1") as server:
        statuses = [subscribe(server.port, subscriber.url(f"/host/{n}"),
                              client=f"198.51.100.{n}")[0] for n in range(4)]
        assert statuses == [202, 202, 202, 429]


def test_past_the_per_host_cap_a_new_subscription_is_refused_a_renewal_is_not(
        tmp_path: Path, subscriber: Subscriber) -> None:
    with serving(tmp_path, "--websub-host-subscriptions", "2") as server:
        first, second, third = (subscriber.url(f"/cap/{n}") for n in range(3))
        assert subscribe(server.port, first)[0] == subscribe(server.port, second)[0] == 202
        wait_for(lambda: len(rows(tmp_path / "state.sqlite", "subscriptions")) == 2, 10)
        status, _, text = subscribe(server.port, third)
        assert (status, text) == (403, "hub.callback: callbacks on 127.0.0.1 hold 2 "
                                  "subscriptions, the most this hub takes for one host\n")
        assert subscribe(server.port, first)[0] == 202
        subscriber.wait("/cap/0", count=2)
        assert not subscriber.requests("/cap/2")


def test_past_the_total_cap_a_new_subscription_is_answered_503(tmp_path: Path,
                                                              subscriber: Subscriber) -> None:
    with serving(tmp_path, "--websub-subscriptions", "1") as server:
        assert subscribe(server.port, subscriber.url("/total/0"))[0] == 202
        status, wait, text = subscribe(server.port, subscriber.url("/total/1"))
        assert (status, wait) == (503, "3600")
        assert "the most it takes" in text
