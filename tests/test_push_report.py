"""The hub's figures reach the operator through the stateless web: /status (JSON and
its page's chart and table) and /metrics show subscriptions per feed, what waits,
pushes delivered and failed, and their latency, from the websub.json the hub writes;
the counts survive a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.liveserver import LiveServer
from support.processes import Server, free_port
from support.subscriber import Reply, Subscriber
from support.waiting import wait_for
from support.websub import post_http

TOPIC = "http://news.test/tags/harbour.atom"
SEED = "Ferry returns to the harbour. Harbour | Transport\n\nIt is back.\n"
HUB = ("--websub-allow-private", "true")


def form(callback: str) -> dict[str, str]:
    return {"hub.mode": "subscribe", "hub.topic": TOPIC, "hub.callback": callback}


def hub_status(server: Server) -> dict[str, Any]:
    reply = server.get("/status", {"Accept": "application/json"})
    assert reply.status == 200
    return json.loads(reply.body)["websub"] or {}


@pytest.fixture(scope="module")
def subscriber() -> Iterator[Subscriber]:
    with Subscriber() as running:
        yield running


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory,
           subscriber: Subscriber) -> Iterator[LiveServer]:
    """A served site with two subscribers of one feed, one of which fails, after one
    change of that feed."""
    root = tmp_path_factory.mktemp("report")
    server = LiveServer(root, *HUB)
    (server.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    subscriber.replies["/broken"] = lambda r: Reply(500) if r.method == "POST" else \
        Reply(200, r.params["hub.challenge"].encode())
    with server:
        for path in ("/fine", "/broken"):
            assert post_http(server.port, form(subscriber.url(path))).status == 202
        wait_for(lambda: hub_status(server).get("subscriptions") == 2, 10,
                 "the subscriptions were not counted")
        (server.seeds / "more.txt").write_text(SEED.replace("Ferry", "Tram"), "utf-8")
        subscriber.wait("/fine", count=2)
        subscriber.wait("/broken", count=2)
        wait_for(lambda: hub_status(server).get("counts", {}).get("failed") == 1, 10,
                 "the failed push was not counted")
        yield server


def test_status_counts_subscriptions_per_feed_file(pushed: LiveServer) -> None:
    hub = hub_status(pushed)
    assert (hub["subscriptions"], hub["by_feed"]) == (2, {"tags/harbour.atom": 2})


def test_status_counts_deliveries_failures_and_what_waits(pushed: LiveServer) -> None:
    hub = hub_status(pushed)
    assert {key: hub["counts"][key] for key in ("verified", "delivered", "failed")} == {
        "verified": 2, "delivered": 1, "failed": 1}
    assert (hub["pushes_pending"], hub["retries_pending"]) == (1, 1)  # the broken one, later


def test_status_has_the_push_latency_of_each_delivery(pushed: LiveServer) -> None:
    latency = hub_status(pushed)["latency_seconds"]
    assert latency["count"] == 1 and 0 <= latency["sum"] < 5


def test_the_status_page_charts_the_last_hour_and_lists_the_feeds(pushed: LiveServer) -> None:
    page = pushed.get("/status", {"Accept": "text/html"}).body.decode()
    assert 'id="websub"' in page and 'id="hub-chart-title"' in page
    assert "1 delivered, 1 failed" in page
    assert '<code class="path">tags/harbour.atom</code>' in page


def test_metrics_show_the_hub(pushed: LiveServer) -> None:
    text = pushed.get("/metrics").body.decode()
    for line in ("seedfeeds_websub_subscriptions 2.0",
                 'seedfeeds_websub_feed_subscriptions{feed="tags/harbour.atom"} 2.0',
                 'seedfeeds_websub_events_total{event="delivered"} 1.0',
                 'seedfeeds_websub_events_total{event="failed"} 1.0',
                 "seedfeeds_websub_retries_pending 1.0",
                 "seedfeeds_websub_push_latency_seconds_count 1.0"):
        assert line in text.splitlines(), line


def test_a_web_process_beside_shows_the_same_figures(pushed: LiveServer) -> None:
    web = Server("web", "--feeds", str(pushed.feeds), "--base-url", "http://news.test",
                 log=pushed.root / "web.log", port=free_port())
    with web:
        assert hub_status(web)["counts"] == hub_status(pushed)["counts"]


def test_without_a_hub_status_says_so(tmp_path: Path) -> None:
    server = LiveServer(tmp_path, "--websub", "false")
    (server.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    with server:
        reply = server.get("/status", {"Accept": "application/json"})
        assert json.loads(reply.body)["websub"] is None
        assert "seedfeeds_websub" not in server.get("/metrics").body.decode()


def test_the_counts_survive_a_restart(tmp_path: Path, subscriber: Subscriber) -> None:
    server = LiveServer(tmp_path, *HUB)
    (server.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    with server:
        assert post_http(server.port, form(subscriber.url("/restart"))).status == 202
        wait_for(lambda: hub_status(server).get("counts", {}).get("verified") == 1, 10)
    with LiveServer(tmp_path, *HUB) as again:
        assert hub_status(again)["counts"]["verified"] == 1
        assert hub_status(again)["subscriptions"] == 1
