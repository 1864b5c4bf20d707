"""Operations over real HTTP: /healthz, /status (JSON and HTML), /metrics (Prometheus)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import lxml.html
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from service.config import load_settings
from service.layout import site_of
from service.render import pages
from service.render.chart import status_chart
from service.web.status import status_summary

from support import webserver
from support.processes import Server
from support.webserver import Built

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def status_json(web: Server, headers: dict[str, str] | None = None,
                query: str = "") -> dict[str, object]:
    reply = web.get(f"/status{query}", headers)
    assert (reply.status, reply.header("Content-Type")) == (
        200, "application/json; charset=utf-8")
    return json.loads(reply.body)


def test_healthz_answers_ok_while_the_feeds_folder_is_readable(web: Server) -> None:
    reply = web.get("/healthz")
    assert (reply.status, reply.body) == (200, b"ok\n")
    assert reply.header("Content-Type") == "text/plain; charset=utf-8"


def test_healthz_answers_503_when_the_feeds_folder_is_missing(tmp_path: Path) -> None:
    with webserver.running(tmp_path / "nowhere") as server:
        assert server.get("/healthz").status == 503


@pytest.mark.parametrize(("headers", "query"), [
    (None, ""),
    ({"Accept": "application/json"}, ""),
    ({"Accept": "*/*"}, ""),
    ({"Accept": BROWSER_ACCEPT}, "?format=json"),
])
def test_status_is_json_by_default_and_on_request(
        web: Server, headers: dict[str, str] | None, query: str) -> None:
    assert status_json(web, headers, query)["articles"] == 3


def test_status_json_gives_counts_errors_and_the_last_publish(
        web: Server, built_site: Built) -> None:
    status = status_json(web)
    last = built_site.status()["last_pass"]
    assert {k: status[k] for k in ("files", "articles", "tags", "embargoed")} == {
        "files": 4, "articles": 3, "tags": 5, "embargoed": 1}
    assert status["errors"] == [{"path": "broken.md", "line": 4, "severity": "error",
                                 "message": built_site.status()["errors"][0]["message"]}]
    publish = status["last_publish"]
    assert (publish["started"], publish["seconds"]) == (last["started"], last["seconds"])
    assert datetime.fromisoformat(publish["started"]).tzinfo is not None
    assert status["next_release"] == "2099-01-01T00:00:00+00:00"


def test_status_is_not_cached_and_varies_on_accept(web: Server) -> None:
    reply = web.get("/status")
    assert (reply.header("Cache-Control"), reply.header("Vary")) == ("no-cache", "Accept")


@pytest.mark.parametrize(("headers", "query"), [
    ({"Accept": BROWSER_ACCEPT}, ""),
    ({"Accept": "text/html"}, ""),
    (None, "?format=html"),
])
def test_browsers_get_the_status_page(web: Server, headers: dict[str, str] | None,
                                      query: str) -> None:
    reply = web.get(f"/status{query}", headers)
    assert (reply.status, reply.header("Content-Type")) == (200, "text/html; charset=utf-8")
    assert b"Publishing status" in reply.body


def test_an_unknown_status_format_is_a_400(web: Server) -> None:
    assert web.get("/status?format=xml").status == 400


@pytest.fixture(scope="module")
def status_page(web: Server) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(web.get("/status?format=html").body)


def test_the_status_page_lists_each_file_error_with_path_and_line(
        status_page: lxml.html.HtmlElement, built_site: Built) -> None:
    rows = status_page.xpath('//table[@id="errors-table"]/tbody/tr')
    cells = [[cell.text_content().strip() for cell in row] for row in rows]
    assert [row[:2] for row in cells] == [["broken.md", "4"]]
    assert cells[0][2] == built_site.status()["errors"][0]["message"]


def test_the_status_page_draws_recent_passes_as_an_inline_svg_chart(
        status_page: lxml.html.HtmlElement, built_site: Built) -> None:
    history = built_site.status()["history"]
    svg = status_page.xpath('//figure[@class="chart"]//svg')[0]
    assert len(svg.xpath('.//rect[@class="chart__bar"]')) == len(history)
    assert len(svg.xpath('.//circle[@class="chart__dot"]')) == len(history)
    assert svg.xpath('.//polyline[@class="chart__line"]')


def test_the_status_page_needs_no_script_and_no_inline_style(web: Server) -> None:
    page = web.get("/status?format=html").body.decode()
    assert "<script" not in page and " style=" not in page and "<style" not in page


def test_the_status_page_escapes_what_seed_files_put_in_it() -> None:
    site = site_of(load_settings({}, {}))
    hostile = "<script>alert(1)</script>"
    summary = status_summary({
        "last_pass": {"started": "2026-01-01T00:00:00+00:00", "seconds": 0.5, "files": 1},
        "errors": [{"path": f"{hostile}.md", "line": 3, "message": hostile}],
        "history": [{"started": hostile, "seconds": 0.5, "files_written": 2}]})
    page = pages.render_status_page(site, summary).decode()
    assert hostile not in page and "&lt;script&gt;" in page


def test_the_chart_scales_bars_and_dots_into_the_plot_area() -> None:
    history = [{"seconds": s, "files_written": f} for s, f in ((0.2, 10), (1.6, 0), (0.8, 40))]
    chart = status_chart(history)
    assert (chart.max_seconds, chart.max_files) == (2.0, 50)
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest is chart.bars[1]
    assert all(chart.top <= bar.y and bar.y + bar.height <= chart.bottom + 0.01
               for bar in chart.bars)
    assert chart.bars[1].dot_y == chart.bottom  # no files changed: on the axis


@pytest.fixture(scope="module")
def unpublished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over an empty feeds/ folder: no publish pass has run yet."""
    feeds = tmp_path_factory.mktemp("unpublished") / "feeds"
    feeds.mkdir()
    with webserver.running(feeds) as server:
        yield server


def test_status_is_503_with_a_clear_message_before_the_first_publish(
        unpublished: Server) -> None:
    reply = unpublished.get("/status")
    assert reply.status == 503
    assert "no publish pass has finished yet" in json.loads(reply.body)["error"]
    html = unpublished.get("/status", {"Accept": BROWSER_ACCEPT})
    assert html.status == 503 and b"status.json is missing" in html.body


def test_before_the_first_publish_the_server_answers_unhealthy_and_serves_404s(
        unpublished: Server) -> None:
    health = unpublished.get("/healthz")
    assert (health.status, health.body) == (
        503, b"no site published yet: the manifest index.json is missing\n")
    assert unpublished.get("/").status == 404


def test_metrics_say_when_status_json_is_missing(unpublished: Server) -> None:
    assert metric_value(unpublished, "seedfeeds_status_available") == 0


# --- /metrics ----------------------------------------------------------------------

def metric_samples(web: Server) -> list[Sample]:
    reply = web.get("/metrics")
    assert reply.status == 200 and (reply.header("Content-Type") or "").startswith("text/plain")
    families = text_string_to_metric_families(reply.body.decode())
    return [sample for family in families for sample in family.samples]


def metric_value(web: Server, name: str, **labels: str) -> float:
    found = [s.value for s in metric_samples(web)
             if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_metrics_count_requests_by_route_and_status(web: Server) -> None:
    before = {(s.labels["route"], s.labels["status"]): s.value for s in metric_samples(web)
              if s.name == "seedfeeds_http_requests_total"}
    web.get("/tags/harbour.atom")
    web.get("/tags/nope.atom")
    after = {(s.labels["route"], s.labels["status"]): s.value for s in metric_samples(web)
             if s.name == "seedfeeds_http_requests_total"}
    assert after[("tag_feed", "200")] == before.get(("tag_feed", "200"), 0) + 1
    assert after[("unmatched", "404")] == before.get(("unmatched", "404"), 0) + 1


def test_metrics_expose_publish_durations_as_a_histogram(
        web: Server, built_site: Built) -> None:
    recorded = built_site.status()["publish_seconds"]
    samples = [s for s in metric_samples(web)
               if s.name.startswith("seedfeeds_publish_duration_seconds")]
    buckets = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket")}
    assert buckets["+Inf"] == recorded["count"] == 1
    assert [buckets[le] for le in sorted(buckets, key=float)] == list(
        recorded["buckets"].values())
    sums = [s.value for s in samples if s.name.endswith("_sum")]
    assert sums == [pytest.approx(recorded["sum"])]


@pytest.mark.parametrize(("name", "key"), [
    ("seedfeeds_articles", "articles"),
    ("seedfeeds_tags", "tags"),
    ("seedfeeds_parse_errors", "errors"),
    ("seedfeeds_embargoed_articles", "embargoed"),
    ("seedfeeds_seed_files", "files"),
])
def test_metrics_expose_the_publisher_counts_from_status_json(
        web: Server, built_site: Built, name: str, key: str) -> None:
    assert metric_value(web, name) == built_site.status()["last_pass"][key]


def test_metrics_expose_the_last_publish_time_in_unix_seconds(
        web: Server, built_site: Built) -> None:
    started = datetime.fromisoformat(built_site.status()["last_pass"]["started"])
    assert metric_value(web, "seedfeeds_last_publish_timestamp_seconds") == started.timestamp()


def test_metrics_are_never_cached(web: Server) -> None:
    assert web.get("/metrics").header("Cache-Control") == "no-store"


@pytest.mark.parametrize("url", ["/healthz", "/status", "/metrics"])
def test_operations_routes_answer_head(web: Server, url: str) -> None:
    reply = web.get(url, method="HEAD")
    assert reply.status == 200 and reply.body == b""


def test_status_counts_in_the_json_match_the_page(web: Server,
                                                   status_page: lxml.html.HtmlElement) -> None:
    numbers = {dt.text_content().strip(): dd.text_content().strip() for dt, dd in zip(
        status_page.xpath('//dl[@class="stats"]//dt'),
        status_page.xpath('//dl[@class="stats"]//dd'), strict=True)}
    status = status_json(web)
    assert numbers["Articles"] == str(status["articles"])
    assert numbers["Errors"] == str(len(status["errors"]))
    assert re.fullmatch(r"\d+", numbers["Tags"])
