"""Health that tells the truth, over real HTTP: /healthz is 503 with its reason when the
site it serves is missing or inconsistent, and /status and /metrics show a publisher
whose passes fail as degraded, so that a monitor can alert on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lxml.html
import pytest

from support import webserver
from support.waiting import wait_for

FAILING = {"since": "2026-12-01T09:00:00+00:00", "attempts": 7,
           "error": "[Errno 28] No space left on device: 'feeds/<tmp>'",
           "next_retry": "2026-12-01T09:05:00+00:00"}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One site built by `seedfeeds build`, copied by each test before it damages it."""
    return webserver.build_site(tmp_path_factory.mktemp("health")).feeds


@pytest.fixture
def feeds(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "feeds"
    shutil.copytree(pristine, copy)
    return copy


def healthz(feeds: Path) -> tuple[int, str]:
    with webserver.running(feeds) as server:
        reply = server.get("/healthz")
    return reply.status, reply.body.decode()


def test_an_empty_feeds_folder_is_unhealthy_until_a_site_is_published(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    assert healthz(tmp_path / "feeds") == (
        503, "no site published yet: the manifest index.json is missing\n")


@pytest.mark.parametrize("garbled", [b'{"files": {"all.atom": {"size"', b"[]",
                                     b'{"files": 3}', b"\xff\xfe"])
def test_a_garbled_manifest_is_unhealthy(feeds: Path, garbled: bytes) -> None:
    (feeds / "index.json").write_bytes(garbled)
    assert healthz(feeds) == (503, "the manifest index.json is not a site's manifest\n")


@pytest.mark.parametrize("missing", ["index.html", "all.atom"])
def test_a_missing_index_or_all_feed_is_unhealthy(feeds: Path, missing: str) -> None:
    (feeds / missing).unlink()
    assert healthz(feeds) == (503, f"{missing} is missing from the published site\n")


@pytest.mark.timed  # a latency: run alone
def test_a_running_server_notices_a_damaged_site_within_seconds(feeds: Path) -> None:
    with webserver.running(feeds) as server:
        assert server.get("/healthz").status == 200
        (feeds / "all.atom").unlink()
        wait_for(lambda: server.get("/healthz").status == 503, 3,
                 "/healthz still answers 200 3 s after all.atom was deleted")


def with_status(feeds: Path, failing: dict[str, object] | None) -> Path:
    status = json.loads((feeds / "status.json").read_bytes())
    (feeds / "status.json").write_text(json.dumps({**status, "failing": failing}), "utf-8")
    return feeds


def test_status_shows_failing_passes_as_degraded(feeds: Path) -> None:
    with webserver.running(with_status(feeds, FAILING)) as server:
        status = json.loads(server.get("/status").body)
    assert (status["state"], status["failing"]) == ("degraded", FAILING)
    assert status["articles"] == 3, "the site as last published is still described"


def test_status_is_ok_while_passes_succeed(feeds: Path) -> None:
    with webserver.running(with_status(feeds, None)) as server:
        status = json.loads(server.get("/status").body)
    assert (status["state"], status["failing"]) == ("ok", None)


def test_the_status_page_shows_failing_passes_in_a_banner(feeds: Path) -> None:
    with webserver.running(with_status(feeds, FAILING)) as server:
        page = lxml.html.fromstring(server.get("/status?format=html").body)
    [banner] = page.xpath('//*[@id="failing"]')
    assert " ".join(banner.text_content().split()) == (
        "Publishing has been failing since 2026-12-01T09:00:00+00:00 (7 attempts): "
        "[Errno 28] No space left on device: 'feeds/<tmp>'; "
        "next retry at 2026-12-01T09:05:00+00:00.")
    assert banner.get("role") == "alert"


@pytest.mark.parametrize(("failing", "value"), [(FAILING, "1.0"), (None, "0.0")])
def test_metrics_say_whether_publishing_is_failing(
        feeds: Path, failing: dict[str, object] | None, value: str) -> None:
    with webserver.running(with_status(feeds, failing)) as server:
        text = server.get("/metrics").body.decode()
    assert f"seedfeeds_publish_failing {value}" in text.splitlines()
