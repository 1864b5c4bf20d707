"""deploy/nginx-bucket.conf, the plain nginx cache of README "Object storage": it serves
the site's URLs from the bucket's keys, caches them, never serves the publisher's own
objects, and a pass refreshes exactly what it changed through its /purge location."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.mirrored import MirroredSite, seed
from support.processes import ROOT, free_port
from support.seaweed import Recorder, Seaweed
from support.waiting import wait_for

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None and not os.environ.get("CI"),
    reason="nginx is not installed here (`apt-get install nginx`; .ci/run installs it)")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    seaweed = Seaweed(tmp_path_factory.mktemp("seaweed"), anonymous_reads=True).start()
    yield seaweed
    seaweed.stop()


def nginx_conf(folder: Path, port: int, store: int, bucket: str, prefix: str) -> str:
    """deploy/nginx-bucket.conf with its store, bucket, port and cache folder made local."""
    text = (ROOT / "deploy" / "nginx-bucket.conf").read_text("utf-8")
    for production, local in (("server storage:8333;", f"server 127.0.0.1:{store};"),
                              ("Host storage:8333;", f"Host 127.0.0.1:{store};"),
                              ("/seedfeeds/site$", f"/{bucket}/{prefix}$"),
                              ("listen 80;", f"listen 127.0.0.1:{port};"),
                              ("/var/cache/nginx/seedfeeds", str(folder / "cache"))):
        assert production in text, f"deploy/nginx-bucket.conf no longer contains {production!r}"
        text = text.replace(production, local)
    return ("user root;\n" if os.geteuid() == 0 else "") + text


@pytest.fixture
def cdn(tmp_path: Path, store: Seaweed) -> Iterator[tuple[MirroredSite, int]]:
    recorder = Recorder(store.s3)
    site = MirroredSite(tmp_path / "site", recorder, store.s3)
    site.write("harbour.txt", seed("Ferry timetable changes", "Harbour"))
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(tmp_path, port, store.ports["s3"], site.bucket, site.prefix),
                    "utf-8")
    with open(tmp_path / "nginx.log", "wb") as log:
        nginx = subprocess.Popen(["nginx", "-p", f"{tmp_path}/", "-c", str(conf), "-g",
                                  f"daemon off; pid {tmp_path}/nginx.pid;"], stdout=log,
                                 stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: answers(port), 10, "nginx did not start")
        yield site, port
    finally:
        nginx.terminate()
        nginx.wait(10)
        recorder.close()


def answers(port: int) -> bool:
    with contextlib.suppress(OSError):
        return get(port, "/.seedfeeds/lock")[0] == 404
    return False


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def test_the_cache_serves_the_sites_urls_from_the_bucket_and_hides_its_own_objects(cdn):
    site, port = cdn
    assert site.build("--max-age", "300").returncode == 0
    page = next(p for p in site.objects() if p.startswith("articles/"))
    for url, path in (("/", "index.html"), ("/tags/harbour/", "tags/harbour/index.html"),
                      ("/" + page.removesuffix(".html"), page), ("/all.atom", "all.atom")):
        status, headers, body = get(port, url)
        assert (status, body) == (200, site.served()[path]), url
        assert headers["cache-control"] == "public, max-age=300", url
    assert get(port, "/all.atom")[1]["x-cache"] == "HIT"
    assert get(port, "/.seedfeeds/manifest/site.json")[0] == 404


def test_a_pass_refreshes_the_changed_urls_at_once_through_the_purge_location(cdn):
    site, port = cdn
    purge = ("--cdn-purge", f"GET http://127.0.0.1:{port}/purge{{path}}")
    assert site.build(*purge).returncode == 0
    assert get(port, "/all.atom")[1]["x-cache"] == "HIT"  # the purge fetched it already
    site.write("storm.txt", seed("Storm closes the harbour", "Harbour", "2024-04-16 09:00"))
    assert site.build(*purge).returncode == 0
    status, headers, body = get(port, "/all.atom")
    assert status == 200
    assert b"Storm closes the harbour" in body  # within max-age: refreshed by the purge
    assert headers["x-cache"] == "HIT"
