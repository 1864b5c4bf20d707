"""External hubs (``--websub-external-hubs``) are pinged with hub.mode=publish naming
every feed that changed, with or without the hub of our own; a failed ping is tried
again; a start pings nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from service.push.ping import Pinger

from support.liveserver import LiveServer
from support.subscriber import Received, Reply, Subscriber

SEED = "Ferry returns to the harbour. Harbour | Transport\n\nIt is back.\n"
CHANGED = {"http://news.test/all.atom", "http://news.test/all.rss", "http://news.test/all.json",
           "http://news.test/tags/harbour.atom", "http://news.test/tags/harbour.rss",
           "http://news.test/tags/harbour.json"}


@pytest.fixture
def external() -> Iterator[Subscriber]:
    with Subscriber() as hub:
        yield hub


def named(request: Received) -> tuple[str | None, set[str]]:
    fields = parse_qsl(request.body.decode())
    return (dict(fields).get("hub.mode"),
            {value for name, value in fields if name == "hub.url"})


@pytest.mark.parametrize("own_hub", ["true", "false"])
def test_a_change_pings_each_external_hub_naming_the_changed_feeds(
        tmp_path: Path, external: Subscriber, own_hub: str) -> None:
    server = LiveServer(tmp_path, "--websub", own_hub, "--websub-external-hubs",
                        f"{external.url('/one')}, {external.url('/two')}")
    (server.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    with server:
        (server.seeds / "more.txt").write_text(SEED.replace("Ferry", "Tram"), "utf-8")
        for path in ("/one", "/two"):
            (ping,) = external.wait(path)
            assert ping.method == "POST"
            assert ping.headers["content-type"] == "application/x-www-form-urlencoded"
            mode, urls = named(ping)
            assert mode == "publish" and urls >= CHANGED
            assert "http://news.test/tags/transport.atom" in urls


def test_a_start_pings_nothing(tmp_path: Path, external: Subscriber) -> None:
    server = LiveServer(tmp_path, "--websub-external-hubs", external.url("/hub"))
    (server.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    with server:
        pass
    with LiveServer(tmp_path, "--websub-external-hubs", external.url("/hub")) as again:
        assert again.get("/all.atom").status == 200
    assert external.requests("/hub") == []


def test_a_failed_ping_is_tried_again(external: Subscriber) -> None:
    answers = iter([Reply(503), Reply(202)])
    external.replies["/flaky"] = lambda _request: next(answers)
    pinger = Pinger([external.url("/flaky")], sleep=lambda _seconds: False)
    pinger.start()
    try:
        pinger.changed(["http://news.test/all.atom"])
        first, second = external.wait("/flaky", count=2)
        assert named(first) == named(second) == ("publish", {"http://news.test/all.atom"})
    finally:
        pinger.stop()


def test_many_feeds_are_named_in_batches(external: Subscriber) -> None:
    pinger = Pinger([external.url("/batch")], sleep=lambda _seconds: False)
    pinger.start()
    try:
        topics = [f"http://news.test/tags/t{number}.atom" for number in range(250)]
        pinger.changed(topics)
        pings = external.wait("/batch", count=3)
        assert [len(named(ping)[1]) for ping in pings] == [100, 100, 50]
        assert set().union(*(named(ping)[1] for ping in pings)) == set(topics)
    finally:
        pinger.stop()
