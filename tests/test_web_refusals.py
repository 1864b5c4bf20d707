"""Refusals over real HTTP: unknown tags and articles, hostile paths, odd methods, symlinks.

Every refusal is a 4xx, never a 500, and never carries a byte of a file outside the
published ones (the state database, a secret beside feeds/, the manifest itself)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import webserver
from support.client import raw_status
from support.processes import Server
from support.webserver import SECRET, Built

ARTICLE = "00000000-0000-5000-8000-000000000000"  # well-formed, never published
LEAKS = (SECRET, b"SQLite format 3", b'"version": 1', b'"last_pass"', b"root:x:0:0")

HOSTILE_PATHS = [
    "/.env", "/.git/config", "/.index.json.123.tmp", "/index.json", "/status.json",
    "/state.sqlite", "/secret.txt", "/404.html", "/index.html", "/index.html.gz",
    "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt",
    "/tags/..%2f..%2fsecret.txt", "/tags/%2e%2e.atom", "/tags/..%2fall.atom",
    "/tags/a%2fb.atom", "/tags/harbour%2f.atom", "/tags/harbour/..%2f..%2findex.json",
    "/tags/harbour.atom%00", "/tags/harbour%00.atom", "/all.atom%00", "/%00",
    "/articles/%00", f"/articles/{ARTICLE}%00", "/articles/..%2findex.json",
    "/articles/..", "/articles/.", f"/articles/{ARTICLE}", f"/articles/{ARTICLE.upper()}",
    f"/articles/{ARTICLE}.html", f"/articles/{ARTICLE}/", "/articles/", "/articles",
    "//etc/passwd", "/etc/passwd", "//secret.txt", "/static/../index.json",
    "/static/style.css/..", "/static/", "/static/.htaccess", "/static/style.css.gz",
    "/tags/", "/tags", "/tags/.hidden/", "/tags/./", "/tags/../", "/tags/nope/",
    "/tags/nope.atom", "/tags/nope", "/tags/harbour.xml", "/tags/harbour.atom.gz",
    "/tags/harbour/index.html", "/tags/harbour//", "/tags//harbour.atom",
    "/all.xml", "/all.atom.gz", "/all.atom/", "/all.", "/subscriptions.opml/",
    "/healthz/../index.json", "/metrics/../status.json", "/%c0%ae%c0%ae/secret.txt",
    "/%ff", "/tags/%ff.atom", "/tags/%ff/", "/%5c..%5csecret.txt",
    "/tags/harbour%5c..%5c..%5cindex.json", "/" + "a" * 10_000,
    "/tags/" + "x" * 10_000 + ".atom", "/articles/" + "0" * 10_000,
]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=lambda p: p[:60])
def test_a_hostile_path_gets_a_4xx_and_no_file_content(web: Server, path: str) -> None:
    reply = web.get(path)
    assert 400 <= reply.status < 500
    assert not any(leak in reply.body for leak in LEAKS)


# Requests http.client will not send: raw bytes on the socket.
RAW_REQUESTS = [
    b"GET /tags/x\x00.atom HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET http://example.com/secret.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET ../secret.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"OPTIONS /all.atom HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\nConnection: close\r\n\r\n",
    b"TRACE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /all.atom HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n"
    b"Connection: close\r\n\r\nabcde",
    b"GET /all.atom HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\nzz\r\n",
    b"GET /\\..\\secret.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /tags/\xff\xfe.atom HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
]


@pytest.mark.parametrize("data", RAW_REQUESTS, ids=lambda d: d.split(b"\r\n")[0][:50].decode(
    "latin-1"))
def test_a_malformed_or_hostile_request_line_gets_a_4xx(web: Server, data: bytes) -> None:
    answer = web.raw(data)
    assert 400 <= raw_status(answer) < 500, answer[:200]
    assert not any(leak in answer for leak in LEAKS)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "POST", "PATCH", "TRACE", "OPTIONS"])
@pytest.mark.parametrize("url", ["/all.atom", "/status", "/", "/nope"])
def test_methods_other_than_get_and_head_are_refused(web: Server, method: str, url: str) -> None:
    reply = web.get(url, method=method, body=b"x=1")
    assert reply.status in (404, 405)
    if reply.status == 405:
        assert reply.header("Allow") == "GET, HEAD"


def test_put_on_a_feed_is_method_not_allowed(web: Server, built_site: Built) -> None:
    before = (built_site.feeds / "all.atom").read_bytes()
    assert web.get("/all.atom", method="PUT", body=b"<feed/>").status == 405
    assert (built_site.feeds / "all.atom").read_bytes() == before


@pytest.mark.parametrize("url", ["/tags/nope/", "/tags/nope.atom", f"/articles/{ARTICLE}"])
def test_unknown_tags_and_articles_get_the_helpful_404_page(
        web: Server, built_site: Built, url: str) -> None:
    reply = web.get(url)
    assert (reply.status, reply.header("Content-Type")) == (404, "text/html; charset=utf-8")
    page = reply.body.decode()
    assert url in page
    assert f'href="{built_site.base_url}/"' in page  # back to the index
    assert ".opml" in page and "all.atom" in page


def test_the_404_page_escapes_the_path_it_names(web: Server) -> None:
    reply = web.get("/tags/%3Cscript%3Ealert(1)%3C/script%3E/")
    assert reply.status == 404
    assert b"<script>" not in reply.body
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in reply.body


def test_the_404_page_shortens_a_very_long_path(web: Server) -> None:
    reply = web.get("/" + "b" * 10_000)
    assert reply.status == 404 and ("/" + "b" * 199 + "…").encode() in reply.body
    assert b"b" * 200 not in reply.body


def test_no_404_is_cached_for_long(web: Server) -> None:
    assert web.get("/tags/nope/").header("Cache-Control") == "no-cache"


# --- symlinks planted in a private copy of the site ---------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Built, Server]]:
    """A site where someone planted symlinks to files and folders outside feeds/."""
    built = webserver.build_site(tmp_path_factory.mktemp("planted"))
    feeds, secret = built.feeds, built.root / "secret.txt"
    outside = built.root / "outside"
    outside.mkdir()
    (outside / "index.html").write_bytes(SECRET)
    os.symlink(secret, feeds / "articles" / f"{ARTICLE}.html")  # an article that is a link
    (feeds / "tags" / "harbour.atom").unlink()  # a listed feed replaced by a link
    os.symlink(secret, feeds / "tags" / "harbour.atom")
    shutil.rmtree(feeds / "tags" / "weather")  # a listed tag page's folder replaced by a link
    os.symlink(outside, feeds / "tags" / "weather")
    with webserver.running(feeds, built.port) as server:
        yield built, server


@pytest.mark.parametrize("url", [f"/articles/{ARTICLE}", "/tags/harbour.atom",
                                 "/tags/weather/"])
def test_a_symlink_pointing_outside_feeds_is_not_followed(
        planted: tuple[Built, Server], url: str) -> None:
    _built, server = planted
    reply = server.get(url)
    assert reply.status == 404 and SECRET not in reply.body


def test_a_symlinked_feed_is_refused_also_to_gzip_clients(
        planted: tuple[Built, Server]) -> None:
    built, server = planted
    os.replace(built.feeds / "tags" / "harbour.atom.gz", built.root / "harbour.atom.gz")
    os.symlink(built.root / "secret.txt", built.feeds / "tags" / "harbour.atom.gz")
    reply = server.get("/tags/harbour.atom", {"Accept-Encoding": "gzip"})
    assert reply.status == 404 and SECRET not in reply.body


def test_a_planted_fifo_does_not_hang_the_server(planted: tuple[Built, Server]) -> None:
    built, server = planted
    fifo_id = "11111111-1111-5111-8111-111111111111"
    os.mkfifo(built.feeds / "articles" / f"{fifo_id}.html")
    assert server.get(f"/articles/{fifo_id}").status == 404


def test_the_planted_site_still_serves_its_real_files(planted: tuple[Built, Server]) -> None:
    _built, server = planted
    assert server.get("/tags/transport.atom").status == 200


def test_refusals_leave_the_server_healthy(web: Server) -> None:
    assert web.get("/healthz").body == b"ok\n"
    assert "Traceback" not in web.log_text()


def test_the_state_database_lives_outside_the_served_folder(built_site: Built) -> None:
    assert (built_site.root / "state.sqlite").is_file()
    assert not Path(built_site.feeds, "state.sqlite").exists()
