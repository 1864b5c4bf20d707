"""--cdn-purge: after each pass the CDN is told exactly the changed URLs, as a reader
asks for them, or the whole site past --cdn-purge-max-paths; by a purge URL template
or a CloudFront invalidation (both sent to a local server that records them)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from support.mirrored import MirroredSite, seed
from support.seaweed import Recorder, Seaweed, environment


class Cdn:
    """A local HTTP server that records each request (method, path with query, body) and
    answers 200, or as CloudFront answers a new invalidation."""

    INVALIDATION = (b'<?xml version="1.0" encoding="UTF-8"?><Invalidation xmlns="http://'
                    b'cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I1</Id><Status>InProgress'
                    b'</Status><CreateTime>2026-01-01T00:00:00Z</CreateTime></Invalidation>')

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        cdn = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                cdn.requests.append((self.command, self.path, body))
                reply = cdn.INVALIDATION if self.path.endswith("/invalidation") else b"ok"
                self.send_response(201 if self.path.endswith("/invalidation") else 200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PURGE = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def take(self) -> list[tuple[str, str, bytes]]:
        taken, self.requests = self.requests, []
        return taken


@pytest.fixture
def cdn() -> Iterator[Cdn]:
    server = Cdn()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def site(tmp_path: Path, store: Seaweed, recorder: Recorder) -> MirroredSite:
    made = MirroredSite(tmp_path, recorder, store.s3)
    made.write("harbour.txt", seed("Ferry timetable changes", "Harbour"))
    return made


def new_article(site: MirroredSite, *options: str, **run: object) -> set[str]:
    """Add an article and build; the URL paths of its page and of every file it changes."""
    pages = {p for p in site.objects() if p.startswith("articles/")}
    site.write("lighthouse.txt", seed("Lighthouse reopens", "Harbour", "2024-04-16 08:00"))
    result = site.build(*options, **run)
    assert result.returncode == 0, result.stderr
    page = ({p for p in site.objects() if p.startswith("articles/")} - pages).pop()
    return {"/" + page.removesuffix(".html"), "/tags/harbour.atom", "/tags/harbour.rss",
            "/tags/harbour.json", "/tags/harbour/", "/all.atom", "/all.rss", "/all.json", "/",
            "/subscriptions.opml", "/sitemap.xml"}


def test_a_purge_template_is_asked_for_exactly_the_changed_urls(site, cdn):
    options = ("--cdn-purge", cdn.url + "{path}")
    assert site.build(*options).returncode == 0
    first = cdn.take()
    assert {method for method, _, _ in first} == {"PURGE"}
    assert len(first) == len(site.objects())  # every object was new
    changed = new_article(site, *options)
    purged = cdn.take()
    assert sorted(path for _, path, _ in purged) == sorted(changed)
    assert site.status()["last_sync"]["purged"] == len(changed)


def test_past_the_most_paths_the_whole_site_is_purged_at_once(site, cdn):
    options = ("--cdn-purge", f"GET {cdn.url}/purge?url={{url}}", "--cdn-purge-max-paths",
               "5", "--base-url", "https://example.org/news")
    assert site.build(*options).returncode == 0
    cdn.take()
    new_article(site, *options)
    [(method, path, _)] = cdn.take()
    assert method == "GET"
    assert parse_qs(urlsplit(path).query)["url"] == ["https://example.org/news/*"]


def test_a_cloudfront_distribution_gets_one_invalidation_of_the_changed_paths(site, cdn,
                                                                               recorder):
    options = ("--cdn-purge", "cloudfront://E2EXAMPLE")
    env = environment(recorder.url, AWS_ENDPOINT_URL_CLOUDFRONT=cdn.url)
    assert site.build(*options, env=env).returncode == 0
    cdn.take()
    changed = new_article(site, *options, env=env)
    [(method, path, body)] = cdn.take()
    assert (method, path) == ("POST", "/2020-05-31/distribution/E2EXAMPLE/invalidation")
    listed = [unquote(part.split("</Path>")[0]) for part in body.decode().split("<Path>")[1:]]
    assert sorted(listed) == sorted(changed)
    assert f"<Quantity>{len(changed)}</Quantity>" in body.decode()
