"""`seedfeeds serve --publish-to`: each pass reaches the bucket, in dependency order, as
it happens; an embargoed article reaches it at its release time; feeds/mirror.json
tells the web what the mirror is doing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support.liveserver import LiveServer
from support.mirrored import MirroredSite, seed
from support.seaweed import Recorder, Seaweed, environment
from support.waiting import wait_for


@pytest.fixture
def site(tmp_path: Path, store: Seaweed, recorder: Recorder,
         monkeypatch: pytest.MonkeyPatch) -> MirroredSite:
    for name, value in environment(recorder.url).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    made = MirroredSite(tmp_path, recorder, store.s3)
    made.write("harbour.txt", seed("Ferry timetable changes", "Harbour | Transport"))
    return made


@pytest.fixture
def served(site: MirroredSite) -> Iterator[LiveServer]:
    server = LiveServer(site.root, "--publish-to", site.target, "--websub", "false")
    site.feeds = server.feeds
    with server:
        wait_for(lambda: site.status().get("in_sync"), 30, "the first pass was not mirrored")
        yield server


def mirrored_title(site: MirroredSite, title: str, path: str = "all.atom") -> bool:
    return title.encode() in site.objects().get(path, b"")


def test_a_dropped_file_reaches_the_bucket_its_page_before_the_feeds_that_link_to_it(
        site, served, recorder):
    recorder.take()
    site.write("lighthouse.txt", seed("Lighthouse reopens", "Harbour | Heritage",
                                      "2024-04-16 08:00"))
    wait_for(lambda: mirrored_title(site, "Lighthouse reopens"), 20, "not mirrored")
    wait_for(lambda: site.status().get("in_sync"), 10)
    sent = [path for method, path in site.writes(recorder.take()) if method == "PUT"]
    page = next(path for path in sent if path.startswith("articles/"))
    assert sent.index(page) < sent.index("tags/heritage.atom") < sent.index("all.atom")
    assert sent.index("all.atom") < sent.index("index.html")
    assert site.objects() == site.served()


@pytest.mark.timed  # a latency: run alone
def test_an_embargoed_article_reaches_the_bucket_at_its_release_time(site, served):
    release = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    site.write("later.txt", seed("Harbour festival announced", "Harbour",
                                 release.isoformat()))
    time.sleep(1.0)  # the pass that saw the file is done: the article is withheld
    assert not mirrored_title(site, "Harbour festival announced")
    wait_for(lambda: mirrored_title(site, "Harbour festival announced"), 15,
             "the released article never reached the bucket")
    arrived = datetime.now(UTC)
    assert release <= arrived < release + timedelta(seconds=3)
    assert mirrored_title(site, "Harbour festival announced", "tags/harbour.atom")


def test_the_status_file_tells_what_the_bucket_holds(site, served):
    status = site.status()
    assert status["version"] == 1 and status["target"] == site.target
    assert status["state"] == "ok" and status["in_sync"] is True
    assert status["objects"] == len(site.objects())
    assert status["pending"] == {"uploads": 0, "deletes": 0, "purges": 0}
    assert status["failing"] is None
    last = status["last_sync"]  # the last attempt: the first build's, or the rescan's after it
    assert set(last) == {"finished", "seconds", "uploaded", "deleted", "unchanged", "bytes",
                         "purged"}
    assert last["uploaded"] + last["unchanged"] == status["objects"]
    assert status["requests"]["put"] >= status["objects"]
    assert status["lag_seconds"]["count"] >= 1


def test_an_idle_publisher_keeps_refreshing_its_lock(site, monkeypatch):
    """Else, unrefreshed past STALE, another publisher would take the prefix over."""
    from service.config import load_settings
    from service.mirror import lock
    from service.mirror.mirror import Mirror

    monkeypatch.setattr(lock, "REFRESH", 0.3)
    settings = load_settings({"feeds": str(site.feeds), "publish_to": site.target}, {})
    mirror = Mirror(settings)
    mirror.start()
    try:
        first = wait_for(lambda: site.own().get("lock"), 10, "no lock taken")
        etags = {site.head(".seedfeeds/lock")["ETag"]}
        wait_for(lambda: etags.add(site.head(".seedfeeds/lock")["ETag"]) or len(etags) >= 3,
                 10, "the lock was not refreshed")
        assert json.loads(first)["owner"] == mirror.lock.owner
    finally:
        mirror.stop()
    assert "lock" not in site.own()  # released as it stopped
