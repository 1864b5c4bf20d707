"""The scale topology on one machine: one `seedfeeds publish`, two `seedfeeds web`, and
nginx with deploy/nginx.conf in front, all reading the same feeds folder."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.publish.writer import SiteWriter

from support.processes import free_port
from support.subscriber import Subscriber
from support.waiting import wait_for
from support.websub import post_http, rows

ROOT = Path(__file__).resolve().parent.parent
SEEDFEEDS = [sys.executable, "-m", "service"]
FERRY = ("The ferry is back! Transport | Harbour\n"
         "Release time:2026-01-05 08:30\n\nThe first electric ferry crossed today.\n")
PATHS = ["/", "/all.atom", "/all.rss", "/all.json", "/subscriptions.opml",
         "/tags/harbour.atom", "/tags/harbour/", "/static/style.css", "/favicon.ico",
         "/static/icon.png"]

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None and not os.environ.get("CI"),
    reason="nginx is not installed here (`apt-get install nginx`; .ci/run installs it)")


def get(port: int, path: str, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def answers(port: int) -> bool:
    try:
        return get(port, "/healthz")[0] == 200
    except OSError:
        return False


@contextlib.contextmanager
def process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def nginx_conf(feeds: Path, port: int, upstreams: list[int], hub: int) -> str:
    """deploy/nginx.conf with its production folder, upstreams and port made local."""
    text = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    servers = " ".join(f"server 127.0.0.1:{p};" for p in upstreams)
    for production, local in (("root /srv/seedfeeds/feeds;", f"root {feeds};"),
                              ("server web:8080;", servers),
                              ("server publisher:8081;", f"server 127.0.0.1:{hub};"),
                              ("listen 80;", f"listen 127.0.0.1:{port};")):
        assert production in text, f"deploy/nginx.conf no longer contains {production!r}"
        text = text.replace(production, local)
    # Running as root, the workers must be allowed into pytest's private temp folders.
    return ("user root;\n" if os.geteuid() == 0 else "") + text


@pytest.fixture
def topology(tmp_path: Path):
    seeds, feeds = tmp_path / "seeds", tmp_path / "feeds"
    seeds.mkdir()
    webs, front, hub = [free_port(), free_port()], free_port(), free_port()
    (tmp_path / "nginx.conf").write_text(nginx_conf(feeds, front, webs, hub), "utf-8")
    with contextlib.ExitStack() as stack:
        stack.enter_context(process(
            [*SEEDFEEDS, "publish", "--seeds", str(seeds), "--feeds", str(feeds),
             "--state", str(tmp_path / "state.sqlite"), "--debounce", "0.05",
             "--websub-port", str(hub), "--websub-allow-private", "true",
             "--trusted-proxy", "127.0.0.1"],
            tmp_path / "publish.log"))
        wait_for(lambda: (feeds / "status.json").exists(), 20, "the publisher did not build")
        for port in webs:
            stack.enter_context(process(
                [*SEEDFEEDS, "web", "--feeds", str(feeds), "--port", str(port)],
                tmp_path / f"web-{port}.log"))
        stack.enter_context(process(
            ["nginx", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"),
             "-g", f"daemon off; pid {tmp_path}/nginx.pid;"], tmp_path / "nginx.log"))
        for port in [*webs, front]:
            wait_for(lambda port=port: answers(port), 20, f"nothing answers on {port}")
        yield seeds, {"nginx": front, "web 1": webs[0], "web 2": webs[1]}, hub


def test_a_dropped_file_is_served_by_nginx_and_both_web_processes(topology):
    seeds, ports = topology[:2]
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    for name, port in ports.items():
        wait_for(lambda port=port: b"The ferry is back!" in get(port, "/tags/harbour.atom")[2],
                 10, f"{name} does not serve the new article")
    bodies = {name: get(port, "/tags/harbour.atom")[2] for name, port in ports.items()}
    assert len(set(bodies.values())) == 1, "the three servers serve different bytes"


def test_nginx_and_the_web_processes_send_the_same_content_types(topology):
    seeds, ports = topology[:2]
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    wait_for(lambda: get(ports["nginx"], "/tags/harbour/")[0] == 200, 10)
    article = next((seeds.parent / "feeds" / "articles").glob("*.html")).stem
    for path in [*PATHS, f"/articles/{article}"]:
        types = {name: get(port, path)[1].get("content-type") for name, port in ports.items()}
        assert len(set(types.values())) == 1, f"{path}: {types}"
        statuses = {name: get(port, path)[0] for name, port in ports.items()}
        assert set(statuses.values()) == {200}, f"{path}: {statuses}"


def test_every_server_answers_a_conditional_get_with_304(topology):
    seeds, ports = topology[:2]
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    wait_for(lambda: b"ferry" in get(ports["nginx"], "/all.atom")[2], 10)
    for name, port in ports.items():
        for path in ("/all.atom", "/tags/harbour.rss", "/"):
            status, headers, _ = get(port, path)
            assert status == 200 and headers.get("etag"), (name, path)
            again = get(port, path, {"If-None-Match": headers["etag"]})
            assert (again[0], again[2]) == (304, b""), (name, path)


def test_nginx_sends_each_feed_the_link_header_the_web_processes_send(topology):
    seeds, ports = topology[:2]
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    wait_for(lambda: get(ports["nginx"], "/tags/harbour.json")[0] == 200, 10)
    for path in ("/all.atom", "/all.rss", "/tags/harbour.atom", "/tags/harbour.rss",
                 "/tags/harbour.json", "/tags/harbour.atom?utm=1"):
        links = {name: get(port, path)[1].get("link") for name, port in ports.items()}
        assert len(set(links.values())) == 1, f"{path}: {links}"
        self_url = "http://localhost:8080" + path.split("?")[0]
        assert links["nginx"] == f'<http://localhost:8080/websub>; rel="hub", <{self_url}>; ' \
                                 'rel="self"', path
    for path in ("/", "/tags/harbour/", "/subscriptions.opml"):
        assert "link" not in get(ports["nginx"], path)[1], path


ARCHIVE_PATHS = ("/archive/all/1.atom", "/archive/tags/harbour/1.rss",
                 "/archive/tags/harbour/2.json")
LISTED_PATHS = ("/robots.txt", "/sitemap.xml", "/sitemaps/1.xml", "/sitemap-news.xml")


def with_archives(seeds: Path, ports: dict[str, int]) -> None:
    """A published site given archives and sitemaps by the real writer, as the publisher
    writes them (archives unlisted, the sitemaps and robots.txt in the manifest)."""
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    for port in ports.values():
        wait_for(lambda port=port: b"ferry" in get(port, "/tags/harbour.atom")[2], 10)
    writer, now = SiteWriter(seeds.parent / "feeds"), datetime.now(UTC)
    for path in (*ARCHIVE_PATHS, *LISTED_PATHS):
        writer.write(path[1:], f"<archived>{path}</archived>\n".encode(), now)
    writer.save_manifest()


def test_nginx_sends_archives_the_web_processes_headers_immutable(topology):
    seeds, ports = topology[:2]
    with_archives(seeds, ports)
    for path in ARCHIVE_PATHS:
        answers = {name: get(port, path) for name, port in ports.items()}
        for name, (status, headers, body) in answers.items():
            assert (status, body) == (200, f"<archived>{path}</archived>\n".encode()), name
            assert headers["cache-control"] == "public, max-age=31536000, immutable", name
            assert "link" not in headers, (name, path)  # no WebSub topic
            again = get(ports[name], path, {"If-None-Match": headers["etag"]})
            assert again[0] == 304 and again[1]["cache-control"] == headers["cache-control"]
        types = {name: headers["content-type"] for name, (_, headers, _) in answers.items()}
        assert len(set(types.values())) == 1, f"{path}: {types}"


def test_nginx_serves_sitemaps_and_robots_as_the_web_processes_do(topology):
    seeds, ports = topology[:2]
    with_archives(seeds, ports)
    for path in LISTED_PATHS:
        answers = {name: get(port, path)[:2] for name, port in ports.items()}
        seen = {(status, headers["content-type"], headers["cache-control"])
                for status, headers in answers.values()}
        assert len(seen) == 1, f"{path}: {answers}"
        assert seen.pop()[0] == 200, path


def test_nginx_and_the_web_processes_refuse_the_same_malformed_archive_addresses(topology):
    seeds, ports = topology[:2]
    with_archives(seeds, ports)
    # (nginx resolves a dot segment itself, inside its root: /archive/tags/../all/1.atom
    # is /archive/all/1.atom to it, a 404 to the app; neither leaves the folder.)
    for path in ("/archive/all/01.atom", "/archive/all/3.atom", "/archive/tags/a%2Fb/1.atom",
                 "/archive/tags/.x/1.atom", "/sitemaps/0.xml"):
        assert {name: get(port, path)[0] for name, port in ports.items()} == dict.fromkeys(
            ports, 404), path


def test_nginx_routes_the_hub_to_the_publisher_which_verifies_and_pushes(topology):
    seeds, ports, hub = topology
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    topic = "http://localhost:8080/tags/harbour.atom"
    # The pass is over once the manifest lists the feed (before, the hub answers 503).
    manifest = seeds.parent / "feeds" / "index.json"
    wait_for(lambda: "tags/harbour.atom" in json.loads(manifest.read_bytes())["files"], 10)
    with Subscriber() as subscriber:
        answer = post_http(ports["nginx"], {"hub.mode": "subscribe", "hub.topic": topic,
                                            "hub.callback": subscriber.url("/scale")})
        assert answer.status == 202, answer.body
        (asked,) = subscriber.wait("/scale", mode="subscribe")
        assert asked.params["hub.topic"] == topic
        wait_for(lambda: rows(seeds.parent / "state.sqlite", "subscriptions"), 10)
        (seeds / "more.txt").write_text(FERRY.replace("ferry is back", "tram is new"), "utf-8")
        pushed = subscriber.wait("/scale", count=2)[1]
        assert pushed.method == "POST" and b"The tram is new!" in pushed.body
        assert pushed.body == get(ports["nginx"], "/tags/harbour.atom")[2]
    assert get(hub, "/all.atom")[0] == 404  # the hub's port serves the hub alone
