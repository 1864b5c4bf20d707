"""The bucket mirror's figures reach the operator through the stateless web: /status
(JSON and page) and /metrics read the mirror.json the publisher writes, and a failing
or refused mirror makes the site's state "degraded"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.processes import Server

SEED = "Ferry returns to the harbour. Harbour | Transport\n\nIt is back.\n"
FAILING = {
    "version": 1, "updated": "2026-12-01T10:00:00+00:00", "target": "s3://news/site",
    "endpoint": "http://127.0.0.1:9000", "cdn": None, "state": "failing", "in_sync": False,
    "objects": 41, "pending": {"uploads": 3, "deletes": 1, "purges": 0},
    "last_sync": {"finished": "2026-12-01T09:59:00+00:00", "seconds": 0.5, "uploaded": 44,
                  "deleted": 0, "unchanged": 0, "bytes": 123456, "purged": 0},
    "failing": {"since": "2026-12-01T09:59:30+00:00", "attempts": 4,
                "error": "the store did not answer", "next_retry": "2026-12-01T10:01:00+00:00"},
    "requests": {"put": 50, "get": 3, "delete": 0, "list": 2, "purge": 0},
    "lag_seconds": {"buckets": {"0.1": 1, "+Inf": 2}, "count": 2, "sum": 3.5},
}


def site_with_mirror(root: Path, mirror: dict[str, object]) -> Server:
    (root / "seeds").mkdir()
    (root / "seeds" / "harbour.txt").write_text(SEED, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "service", "build", "--seeds", str(root / "seeds"),
                    "--feeds", str(root / "feeds"), "--state", str(root / "state.sqlite")],
                   check=True, capture_output=True)
    (root / "feeds" / "mirror.json").write_text(json.dumps(mirror), encoding="utf-8")
    return Server("web", "--feeds", str(root / "feeds"), log=root / "web.log")


def status(server: Server) -> dict[str, object]:
    return json.loads(server.get("/status", {"Accept": "application/json"}).body)


def test_a_failing_mirror_degrades_the_site_and_says_why(tmp_path: Path) -> None:
    with site_with_mirror(tmp_path, FAILING) as server:
        found = status(server)
        assert found["state"] == "degraded" and found["failing"] is None
        mirror = found["mirror"]
        assert (mirror["target"], mirror["state"], mirror["in_sync"]) == (
            "s3://news/site", "failing", False)
        assert mirror["pending"] == {"uploads": 3, "deletes": 1, "purges": 0}
        assert mirror["failing"]["error"] == "the store did not answer"


def test_the_page_shows_the_failure_and_what_waits(tmp_path: Path) -> None:
    with site_with_mirror(tmp_path, FAILING) as server:
        page = server.get("/status", {"Accept": "text/html"}).body.decode()
        assert 'id="mirror-failing"' in page and "the store did not answer" in page
        assert "<code>s3://news/site</code>" in page


def test_metrics_show_the_mirror(tmp_path: Path) -> None:
    with site_with_mirror(tmp_path, FAILING) as server:
        lines = server.get("/metrics").body.decode().splitlines()
        for line in ("seedfeeds_mirror_failing 1.0", "seedfeeds_mirror_in_sync 0.0",
                     "seedfeeds_mirror_objects 41.0",
                     'seedfeeds_mirror_pending{kind="uploads"} 3.0',
                     'seedfeeds_mirror_requests_total{method="put"} 50.0',
                     "seedfeeds_mirror_lag_seconds_count 2.0"):
            assert line in lines, line


@pytest.mark.parametrize("state", ["ok", "syncing", "stopped"])
def test_a_mirror_that_is_not_failing_leaves_the_site_ok(tmp_path: Path, state: str) -> None:
    fine = {**FAILING, "state": state, "in_sync": state == "ok", "failing": None}
    with site_with_mirror(tmp_path, fine) as server:
        found = status(server)
        assert found["state"] == "ok" and found["mirror"]["state"] == state


def test_without_a_mirror_status_has_none(tmp_path: Path) -> None:
    server = site_with_mirror(tmp_path, {})
    (tmp_path / "feeds" / "mirror.json").unlink()
    with server:
        assert status(server)["mirror"] is None
        assert "seedfeeds_mirror" not in server.get("/metrics").body.decode()
