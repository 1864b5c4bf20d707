"""Archives, sitemaps and robots.txt over real HTTP: a folder written by the real
``SiteWriter`` (as the publisher writes it), served by the real `seedfeeds web`.

Archives are published when their file exists (they are not in the manifest), never
change, and are cached for a year; every other address that looks like one is a 404
decided from the URL alone, even when a file sits at the path it would name."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service import layout
from service.publish.writer import SiteWriter

from support import webserver
from support.processes import Server

ATOM = b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"/>\n'
ARCHIVES = {  # URL -> (file under feeds/, media type)
    "/archive/all/1.atom": ("archive/all/1.atom", "application/atom+xml; charset=utf-8"),
    "/archive/all/12.rss": ("archive/all/12.rss", "application/rss+xml; charset=utf-8"),
    "/archive/tags/harbour/2.json": ("archive/tags/harbour/2.json",
                                     "application/feed+json; charset=utf-8"),
    "/archive/tags/caf%C3%A9-culture/1.atom": ("archive/tags/café-culture/1.atom",
                                               "application/atom+xml; charset=utf-8"),
}
LISTED = {  # URL -> (file under feeds/, media type): in the manifest like any feed
    "/robots.txt": (layout.ROBOTS, "text/plain; charset=utf-8"),
    "/sitemap.xml": (layout.SITEMAP, "application/xml; charset=utf-8"),
    "/sitemaps/1.xml": ("sitemaps/1.xml", "application/xml; charset=utf-8"),
    "/sitemap-news.xml": (layout.NEWS_SITEMAP, "application/xml; charset=utf-8"),
}
# Hostile or malformed archive addresses, and the file each would reach if it were read.
PLANTED = {
    "/archive/tags/../x/1.atom": "archive/x/1.atom",
    "/archive/x/1.atom": "archive/x/1.atom",
    "/archive/all/01.atom": "archive/all/01.atom",
    "/archive/all/0.atom": "archive/all/0.atom",
    "/archive/all/1.xml": "archive/all/1.xml",
    "/archive/all/x.atom": "archive/all/x.atom",
    "/archive/all/1.atom.gz": "archive/all/1.atom.gz",
    "/archive/all/-1.atom": "archive/all/-1.atom",
    "/archive/all/%D9%A1.atom": "archive/all/١.atom",  # an Arabic-Indic digit one
    "/archive/tags/a%2Fb/1.atom": "archive/tags/a/b/1.atom",
    "/archive/tags/..%2F..%2Fsecret/1.atom": "secret/1.atom",
    "/archive/tags/.hidden/1.atom": "archive/tags/.hidden/1.atom",
    "/archive/tags/a_b/1.atom": "archive/tags/a_b/1.atom",
    "/archive/tags/harbour/1.atom/": "archive/tags/harbour/1.atom",
    "/archive/tags/harbour.atom": "archive/tags/harbour.atom",
    "/archive/all.atom": "archive/all.atom",
    "/sitemaps/01.xml": "sitemaps/01.xml",
    "/sitemaps/1.atom": "sitemaps/1.atom",
}
STRANGE = ["/archive/", "/archive", "/archive/all/", "/archive/tags/%00/1.atom",
           "/archive/all/1%00.atom", "/archive/tags/a%5C..%5Cb/1.atom",
           "/archive/all/" + "9" * 5000 + ".atom", "/archive/tags/harbour//1.atom",
           "/archive//all/1.atom", "/archive/all/2.atom", "/archive/tags/nope/1.atom"]


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A feeds folder as the publisher leaves it: a feed, archives, sitemaps, robots.txt;
    and a file planted at every path a hostile archive address would name."""
    root = tmp_path_factory.mktemp("archives") / "feeds"
    writer, now = SiteWriter(root), datetime(2026, 3, 1, tzinfo=UTC)
    writer.write(layout.feed_file(None, "atom"), ATOM, now)
    for path, _ in (*ARCHIVES.values(), *LISTED.values()):
        writer.write(path, ATOM.replace(b"/>", f"><id>{path}</id></feed>".encode()), now)
    writer.save_manifest()
    for path in PLANTED.values():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(b"PLANTED")
    return root


@pytest.fixture(scope="module")
def server(feeds: Path) -> Iterator[Server]:
    with webserver.running(feeds, None, "--base-url", "http://news.test",
                           "--max-age", "123") as web:
        yield web


@pytest.mark.parametrize(("url", "path", "media_type"),
                         [(url, *found) for url, found in {**ARCHIVES, **LISTED}.items()])
def test_each_archive_sitemap_and_robots_address_serves_its_file_with_its_media_type(
        server: Server, feeds: Path, url: str, path: str, media_type: str) -> None:
    reply = server.get(url)
    assert (reply.status, reply.header("Content-Type")) == (200, media_type)
    assert reply.body == (feeds / path).read_bytes()


@pytest.mark.parametrize("url", ARCHIVES)
def test_archives_are_immutable_for_a_year_whatever_the_max_age(server: Server,
                                                                url: str) -> None:
    assert server.get(url).header("Cache-Control") == layout.IMMUTABLE


@pytest.mark.parametrize("url", ARCHIVES)
def test_an_archive_answers_304_to_its_etag_with_the_immutable_header(server: Server,
                                                                     url: str) -> None:
    etag = server.get(url).header("ETag") or ""
    reply = server.get(url, {"If-None-Match": etag})
    assert (reply.status, reply.body, reply.header("ETag")) == (304, b"", etag)
    assert reply.header("Cache-Control") == layout.IMMUTABLE


def test_an_archive_answers_304_to_if_modified_since_its_last_modified(server: Server) -> None:
    url = "/archive/all/1.atom"
    reply = server.get(url, {"If-Modified-Since": server.get(url).header("Last-Modified") or ""})
    assert (reply.status, reply.header("Cache-Control")) == (304, layout.IMMUTABLE)


@pytest.mark.parametrize("url", ARCHIVES)
def test_head_of_an_archive_sends_the_headers_of_get_and_no_body(server: Server,
                                                                 url: str) -> None:
    get, head = server.get(url), server.get(url, method="HEAD")
    assert (head.status, head.body) == (200, b"")
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control"):
        assert head.header(name) == get.header(name), name


def test_an_archives_etag_is_the_sha256_of_its_bytes(server: Server) -> None:
    reply = server.get("/archive/tags/harbour/2.json")
    assert reply.header("ETag") == f'"{hashlib.sha256(reply.body).hexdigest()}"'


def test_an_archive_is_no_websub_topic_and_has_no_gzip_sibling(server: Server) -> None:
    reply = server.get("/archive/all/1.atom", {"Accept-Encoding": "gzip"})
    assert reply.header("Link") is None
    assert reply.header("Content-Encoding") is None and reply.header("Vary") is None
    assert server.get("/all.atom").header("Link")  # the feed keeps its own


def test_sitemaps_and_robots_are_public_for_the_configured_max_age(server: Server) -> None:
    for url in LISTED:
        assert server.get(url).header("Cache-Control") == "public, max-age=123", url


def test_a_sitemap_answers_304_to_its_manifest_etag(server: Server, feeds: Path) -> None:
    sha = hashlib.sha256((feeds / layout.SITEMAP).read_bytes()).hexdigest()
    assert server.get("/sitemap.xml").header("ETag") == f'"{sha}"'
    assert server.get("/sitemap.xml", {"If-None-Match": f'"{sha}"'}).status == 304


@pytest.mark.parametrize("url", PLANTED)
def test_a_malformed_archive_address_is_a_404_even_with_a_file_at_its_path(
        server: Server, url: str) -> None:
    reply = server.get(url)
    assert reply.status == 404 and b"PLANTED" not in reply.body


@pytest.mark.parametrize("url", STRANGE, ids=lambda url: url[:60])
def test_a_strange_or_unpublished_archive_address_is_a_404(server: Server, url: str) -> None:
    assert server.get(url).status == 404


def test_an_archive_removed_from_the_folder_is_no_longer_served(tmp_path: Path) -> None:
    root = tmp_path / "feeds"
    SiteWriter(root).write("archive/all/1.atom", ATOM, datetime(2026, 3, 1, tzinfo=UTC))
    with webserver.running(root) as web:
        assert web.get("/archive/all/1.atom").status == 200
        SiteWriter(root).remove("archive/all/1.atom")
        assert web.get("/archive/all/1.atom").status == 404


def test_a_sitemap_on_disk_but_not_in_the_manifest_is_not_served(tmp_path: Path) -> None:
    root = tmp_path / "feeds"
    root.mkdir()
    (root / layout.SITEMAP).write_bytes(b"<urlset/>")
    (root / layout.ROBOTS).write_bytes(b"User-agent: *\n")
    with webserver.running(root) as web:
        assert web.get("/sitemap.xml").status == 404
        assert web.get("/robots.txt").status == 404


def test_metrics_count_archives_sitemaps_and_robots_by_their_own_routes(
        server: Server) -> None:
    for url in ("/archive/all/1.atom", "/sitemap.xml", "/robots.txt"):
        server.get(url)
    counted = server.get("/metrics").body.decode()
    for route in ("archive", "sitemap", "robots"):
        assert f'seedfeeds_http_requests_total{{route="{route}",status="200"}}' in counted
