"""The web process: the production server, its log line, clean stops, a stateless app that
follows what the publisher writes, and the security headers of every answer."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import load_settings
from service.web.app import create_app
from service.web.folder import JsonFile
from service.web.http import CSP

from support import webserver
from support.processes import Server
from support.webserver import Built


def test_the_server_logs_where_it_listens(web: Server) -> None:
    assert f"on http://127.0.0.1:{web.port}" in web.log_text()


def test_the_server_is_waitress_not_the_flask_development_server(web: Server) -> None:
    assert web.get("/healthz").header("Server") == "seedfeeds"
    assert "development server" not in web.log_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server_cleanly(built_site: Built, sig: int) -> None:
    with webserver.running(built_site.feeds) as server:
        assert server.get("/all.atom").status == 200
        assert server.stop(sig) == 0
        assert "stopped serving" in server.log_text()
        assert "Traceback" not in server.log_text()


# Every answer, whoever makes it: the fast file path, Flask's views, Flask's refusals.
EVERY_KIND = ["/", "/all.atom", "/tags/harbour/", "/tags/harbour", "/static/style.css",
              "/tags/nope/", "/healthz", "/status", "/metrics", "/status?format=html"]


@pytest.mark.parametrize("url", EVERY_KIND)
def test_every_answer_forbids_sniffing_and_referrers(web: Server, url: str) -> None:
    reply = web.get(url)
    assert reply.header("X-Content-Type-Options") == "nosniff"
    assert reply.header("Referrer-Policy") == "no-referrer"


def test_refused_methods_forbid_sniffing_too(web: Server) -> None:
    assert web.get("/all.atom", method="DELETE").header("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("url", ["/", "/tags/harbour/", "/tags/nope/", "/status?format=html"])
def test_html_answers_carry_the_strict_content_security_policy(web: Server, url: str) -> None:
    reply = web.get(url)
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    assert reply.header("Content-Security-Policy") == CSP


def test_article_pages_carry_the_strict_content_security_policy(
        web: Server, built_site: Built) -> None:
    reply = web.get(f"/articles/{built_site.article_ids()[0]}")
    assert reply.header("Content-Security-Policy") == (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'")


# --- the app holds no publisher state ---------------------------------------------

def test_create_app_starts_no_thread_and_reads_no_file(tmp_path: Path) -> None:
    before = threading.enumerate()
    app = create_app(load_settings({"feeds": str(tmp_path / "not-there-yet")}, {}))
    assert threading.enumerate() == before
    assert not (tmp_path / "not-there-yet").exists()
    assert app.name == "service.web.app"


def test_two_apps_in_one_process_count_their_own_requests(tmp_path: Path) -> None:
    apps = [create_app(load_settings({"feeds": str(tmp_path)}, {})) for _ in range(2)]
    for _ in range(3):
        apps[0].test_client().get("/healthz")
    text = apps[1].test_client().get("/metrics").get_data(as_text=True)
    assert 'seedfeeds_http_requests_total{route="healthz"' not in text


def test_the_manifest_is_parsed_again_only_when_index_json_changes(tmp_path: Path) -> None:
    path = tmp_path / "index.json"
    path.write_text('{"files": {}}')
    manifest = JsonFile(path)
    first = manifest.get()
    assert manifest.get() is first  # same stat: the parsed object is reused
    replacement = tmp_path / "next.json"
    replacement.write_text('{"files": {"all.atom": {}}}')
    os.replace(replacement, path)
    assert manifest.get() == {"files": {"all.atom": {}}}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Built, Server]]:
    """A private site and server for tests that change it while it runs; each test
    changes files no other test reads."""
    built = webserver.build_site(tmp_path_factory.mktemp("live"))
    with webserver.running(built.feeds, built.port) as server:
        yield built, server


def test_a_new_publish_pass_is_served_without_a_restart(live: tuple[Built, Server]) -> None:
    built, server = live
    assert server.get("/tags/markets.atom").status == 404
    old_all = server.get("/all.atom").header("ETag")
    (built.root / "seeds" / "markets.md").write_text(
        "---\ntitle: Fish market moves\ntags: [Markets]\ndate: 2026-03-03 09:00\n---\nBody.\n",
        encoding="utf-8")
    webserver.rebuild(built.root, built.base_url)
    reply = server.get("/tags/markets.atom")
    assert reply.status == 200
    assert reply.header("ETag") == f'"{built.manifest()["tags/markets.atom"]["sha256"]}"'
    new_all = server.get("/all.atom")
    assert new_all.header("ETag") == f'"{built.manifest()["all.atom"]["sha256"]}"' != old_all
    assert b"Fish market moves" in new_all.body
    assert json.loads(server.get("/status").body)["articles"] == 4


def test_a_file_newer_than_its_manifest_row_gets_the_etag_of_its_bytes(
        live: tuple[Built, Server]) -> None:
    # The publisher writes files first and the manifest last: in between, a file not yet
    # served under the current manifest is hashed as read.
    built, server = live
    newer = b'<?xml version="1.0" encoding="utf-8"?>\n<rss/>\n'  # another size: row is stale
    (built.feeds / "tags" / "transport.rss").write_bytes(newer)
    reply = server.get("/tags/transport.rss")
    assert reply.body == newer
    assert reply.header("ETag") == f'"{hashlib.sha256(newer).hexdigest()}"'


def test_a_rewritten_article_page_gets_a_new_etag(live: tuple[Built, Server]) -> None:
    built, server = live
    article_id = built.article_ids()[0]
    url, path = f"/articles/{article_id}", built.feeds / "articles" / f"{article_id}.html"
    old = server.get(url).header("ETag")
    path.write_bytes(path.read_bytes() + b"<!-- edited -->\n")
    reply = server.get(url)
    assert reply.header("ETag") not in (None, old)
    assert server.get(url, {"If-None-Match": old or ""}).status == 200


def test_an_unpublished_article_is_gone_at_once(live: tuple[Built, Server]) -> None:
    built, server = live
    article_id = built.article_ids()[-1]
    (built.feeds / "articles" / f"{article_id}.html").unlink()
    assert server.get(f"/articles/{article_id}").status == 404
