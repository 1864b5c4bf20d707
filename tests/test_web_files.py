"""The published files over real HTTP: media types, validators, 304s, HEAD, gzip, caching."""

from __future__ import annotations

import gzip
import hashlib
import http.client
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from support.processes import Server
from support.webserver import Built

HTML = "text/html; charset=utf-8"
# (URL, file under feeds/, media type): every kind of published address.
PUBLISHED = [
    ("/", "index.html", HTML),
    ("/all.atom", "all.atom", "application/atom+xml; charset=utf-8"),
    ("/all.rss", "all.rss", "application/rss+xml; charset=utf-8"),
    ("/all.json", "all.json", "application/feed+json; charset=utf-8"),
    ("/tags/harbour.atom", "tags/harbour.atom", "application/atom+xml; charset=utf-8"),
    ("/tags/harbour.rss", "tags/harbour.rss", "application/rss+xml; charset=utf-8"),
    ("/tags/harbour.json", "tags/harbour.json", "application/feed+json; charset=utf-8"),
    ("/tags/harbour/", "tags/harbour/index.html", HTML),
    ("/tags/caf%C3%A9-culture/", "tags/café-culture/index.html", HTML),
    ("/tags/%E5%A4%A9%E6%B0%94.atom", "tags/天气.atom", "application/atom+xml; charset=utf-8"),
    ("/subscriptions.opml", "subscriptions.opml", "text/x-opml; charset=utf-8"),
    ("/static/style.css", "static/style.css", "text/css; charset=utf-8"),
]
URLS = [url for url, _, _ in PUBLISHED]
FEED = "/tags/harbour.atom"


def etag_of(built: Built, path: str) -> str:
    return f'"{built.manifest()[path]["sha256"]}"'


@pytest.mark.parametrize(("url", "path", "media_type"), PUBLISHED)
def test_each_address_serves_its_published_file_with_its_media_type(
        web: Server, built_site: Built, url: str, path: str, media_type: str) -> None:
    reply = web.get(url)
    assert reply.status == 200
    assert reply.header("Content-Type") == media_type
    assert reply.body == (built_site.feeds / path).read_bytes()
    assert reply.header("Content-Length") == str(len(reply.body))


@pytest.mark.parametrize(("url", "path"), [(url, path) for url, path, _ in PUBLISHED])
def test_etag_is_the_manifest_sha256_and_last_modified_its_update_time(
        web: Server, built_site: Built, url: str, path: str) -> None:
    reply = web.get(url)
    row = built_site.manifest()[path]
    assert reply.header("ETag") == f'"{row["sha256"]}"'
    updated = datetime.fromisoformat(str(row["updated"])).replace(microsecond=0)
    assert parsedate_to_datetime(reply.header("Last-Modified") or "") == updated


@pytest.mark.parametrize("url", URLS)
def test_if_none_match_with_the_current_etag_answers_304_without_a_body(
        web: Server, url: str) -> None:
    etag = web.get(url).header("ETag") or ""
    reply = web.get(url, {"If-None-Match": etag})
    assert (reply.status, reply.body) == (304, b"")
    assert reply.header("ETag") == etag


def test_if_none_match_finds_the_etag_in_a_list_and_in_weak_form(
        web: Server, built_site: Built) -> None:
    etag = etag_of(built_site, "tags/harbour.atom")
    assert web.get(FEED, {"If-None-Match": f'"old", W/{etag}'}).status == 304
    assert web.get(FEED, {"If-None-Match": "*"}).status == 304


def test_if_none_match_with_an_old_etag_answers_200_with_the_feed(web: Server) -> None:
    reply = web.get(FEED, {"If-None-Match": '"0000"'})
    assert reply.status == 200 and reply.body.startswith(b"<?xml")


def test_if_modified_since_the_last_change_answers_304(web: Server) -> None:
    last_modified = web.get(FEED).header("Last-Modified") or ""
    reply = web.get(FEED, {"If-Modified-Since": last_modified})
    assert (reply.status, reply.body) == (304, b"")


def test_if_modified_since_before_the_last_change_answers_200(web: Server) -> None:
    last_modified = parsedate_to_datetime(web.get(FEED).header("Last-Modified") or "")
    earlier = format_datetime(last_modified.replace(year=last_modified.year - 1), usegmt=True)
    assert web.get(FEED, {"If-Modified-Since": earlier}).status == 200


def test_if_none_match_wins_over_if_modified_since(web: Server) -> None:
    last_modified = web.get(FEED).header("Last-Modified") or ""
    reply = web.get(FEED, {"If-None-Match": '"0000"', "If-Modified-Since": last_modified})
    assert reply.status == 200


def test_a_304_repeats_the_validators_and_cache_headers_of_the_200(web: Server) -> None:
    full = web.get(FEED)
    reply = web.get(FEED, {"If-None-Match": full.header("ETag") or ""})
    for name in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert reply.header(name) == full.header(name), name


@pytest.mark.parametrize("url", URLS)
def test_head_sends_the_headers_of_get_and_no_body(web: Server, url: str) -> None:
    get, head = web.get(url), web.get(url, method="HEAD")
    assert (head.status, head.body) == (200, b"")
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control"):
        assert head.header(name) == get.header(name), name


def test_gzip_clients_get_the_precompressed_sibling_with_its_own_etag(
        web: Server, built_site: Built) -> None:
    reply = web.get(FEED, {"Accept-Encoding": "gzip"})
    assert reply.header("Content-Encoding") == "gzip"
    assert reply.body == (built_site.feeds / "tags/harbour.atom.gz").read_bytes()
    assert gzip.decompress(reply.body) == (built_site.feeds / "tags/harbour.atom").read_bytes()
    assert reply.header("ETag") == etag_of(built_site, "tags/harbour.atom.gz")
    assert reply.header("Content-Type") == "application/atom+xml; charset=utf-8"


def test_the_gzip_etag_answers_304_to_gzip_clients(web: Server, built_site: Built) -> None:
    etag = etag_of(built_site, "tags/harbour.atom.gz")
    reply = web.get(FEED, {"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert reply.status == 304


@pytest.mark.parametrize(("accept_encoding", "gzipped"), [
    ("gzip", True),
    ("gzip, deflate, br", True),
    ("br;q=1.0, gzip;q=0.5", True),
    ("*", True),
    ("gzip;q=0", False),
    ("gzip;q=0, *", False),
    ("*;q=0", False),
    ("identity", False),
    ("deflate, br", False),
    ("", False),
])
def test_accept_encoding_decides_gzip_and_q_zero_refuses_it(
        web: Server, accept_encoding: str, gzipped: bool) -> None:
    reply = web.get(FEED, {"Accept-Encoding": accept_encoding})
    assert reply.status == 200
    assert (reply.header("Content-Encoding") == "gzip") is gzipped


@pytest.mark.parametrize("accept_encoding", ["gzip", "identity"])
@pytest.mark.parametrize("url", ["/", "/all.atom", "/tags/harbour/", "/subscriptions.opml"])
def test_compressible_files_vary_on_accept_encoding(
        web: Server, url: str, accept_encoding: str) -> None:
    assert web.get(url, {"Accept-Encoding": accept_encoding}).header("Vary") == "Accept-Encoding"


def test_files_without_a_gz_sibling_are_never_gzipped_and_do_not_vary(
        web: Server, built_site: Built) -> None:
    article = f"/articles/{built_site.article_ids()[0]}"
    for url in ("/static/style.css", article):
        reply = web.get(url, {"Accept-Encoding": "gzip"})
        assert reply.header("Content-Encoding") is None and reply.header("Vary") is None


@pytest.mark.parametrize("url", URLS)
def test_published_files_are_public_for_the_configured_max_age(web: Server, url: str) -> None:
    assert web.get(url).header("Cache-Control") == "public, max-age=123"


def test_article_pages_are_served_with_a_hash_of_their_bytes_as_etag(
        web: Server, built_site: Built) -> None:
    article_id = built_site.article_ids()[0]
    path = built_site.feeds / "articles" / f"{article_id}.html"
    reply = web.get(f"/articles/{article_id}")
    assert (reply.status, reply.header("Content-Type")) == (200, HTML)
    assert reply.body == path.read_bytes()
    assert reply.header("ETag") == f'"{hashlib.sha256(reply.body).hexdigest()}"'
    modified = parsedate_to_datetime(reply.header("Last-Modified") or "")
    assert modified.timestamp() == int(path.stat().st_mtime)


def test_article_pages_answer_304_to_their_etag(web: Server, built_site: Built) -> None:
    url = f"/articles/{built_site.article_ids()[0]}"
    etag = web.get(url).header("ETag") or ""
    assert web.get(url, {"If-None-Match": etag}).status == 304


@pytest.mark.parametrize(("url", "location"), [
    ("/tags/harbour", "/tags/harbour/"),
    ("/tags/%E5%A4%A9%E6%B0%94", "/tags/%E5%A4%A9%E6%B0%94/"),
])
def test_a_tag_address_without_its_slash_redirects_to_the_tag_page(
        web: Server, url: str, location: str) -> None:
    reply = web.get(url)
    assert (reply.status, reply.header("Location")) == (301, location)


def test_a_304_keeps_the_connection_open_for_the_next_request(web: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        connection.request("GET", FEED)
        first = connection.getresponse()
        first.read()
        sock = connection.sock
        connection.request("GET", FEED, headers={"If-None-Match": first.getheader("ETag")})
        second = connection.getresponse()
        second.read()
        assert second.status == 304 and second.getheader("Connection") is None
        connection.request("GET", FEED)
        third = connection.getresponse()
        third.read()
        assert third.status == 200 and connection.sock is sock
    finally:
        connection.close()
