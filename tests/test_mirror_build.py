"""`seedfeeds build --publish-to`: the bucket mirrors what the web serves, byte for byte,
with the web's headers, and each build sends only what changed, in dependency order;
against a real S3-compatible store (SeaweedFS) whose every request is recorded."""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.mirrored import MirroredSite, seed
from support.ports import free_port
from support.processes import ROOT, SEEDFEEDS, Server, stop_process
from support.seaweed import Recorder, Seaweed, environment
from support.waiting import wait_for


@pytest.fixture
def site(tmp_path: Path, store: Seaweed, recorder: Recorder) -> MirroredSite:
    made = MirroredSite(tmp_path, recorder, store.s3)
    made.write("harbour.txt", seed("Ferry timetable changes", "Harbour | Transport"))
    made.write("market.txt", seed("Night market opens", "Market | Food", "2024-04-15 10:00"))
    return made


def built(site: MirroredSite, *extra: str) -> None:
    result = site.build(*extra)
    assert result.returncode == 0, result.stderr
    assert f"mirrored to {site.target}" in result.stdout


def test_a_build_mirrors_every_served_file_byte_for_byte_and_nothing_else(site):
    built(site)
    served = site.served()
    assert "all.atom" in served and any(p.startswith("articles/") for p in served)
    assert site.objects() == served  # identity bytes; no .gz, no manifest, no status files


def test_each_object_has_the_content_type_and_cache_control_the_web_sends(site, tmp_path):
    built(site, "--max-age", "123")
    with Server("web", "--feeds", str(site.feeds), "--base-url", "http://news.test",
                "--max-age", "123", log=tmp_path / "web.log") as web:
        for path in site.objects():
            if path == "404.html":  # the error document: the web sends it only as a 404
                continue
            answer = web.get(url_path(path))
            assert answer.status == 200, path
            stored = site.head(path)
            assert stored["ContentType"] == answer.header("Content-Type"), path
            assert stored["CacheControl"] == answer.header("Cache-Control"), path


def test_an_archive_object_has_the_immutable_headers_the_web_sends(site, tmp_path):
    built(site, "--max-age", "123", "--entries", "1", "--archive-size", "1")
    assert (site.feeds / "archive" / "all" / "1.json").is_file()
    with Server("web", "--feeds", str(site.feeds), "--base-url", "http://news.test",
                "--max-age", "123", log=tmp_path / "web.log") as web:
        for path in ("archive/all/1.atom", "archive/all/1.json"):
            answer, stored = web.get(url_path(path)), site.head(path)
            assert answer.status == 200, path
            assert stored["ContentType"] == answer.header("Content-Type"), path
            assert stored["CacheControl"] == answer.header("Cache-Control") == \
                "public, max-age=31536000, immutable", path


def url_path(path: str) -> str:
    """The URL a reader asks for, as README's URLs table gives it."""
    if path == "index.html":
        return "/"
    if path.endswith("/index.html"):
        return "/" + path.removesuffix("index.html")
    return "/" + path.removesuffix(".html") if path.startswith("articles/") else "/" + path


def test_an_unchanged_rebuild_writes_and_deletes_nothing(site, recorder):
    built(site)
    recorder.take()
    built(site)
    requests = recorder.take()
    assert [r for r in requests if r.method in ("PUT", "DELETE", "POST")] == []
    assert requests  # it did look: the record and a listing of the prefix


def test_a_new_article_uploads_its_page_then_its_tags_then_the_front_and_nothing_else(site,
                                                                                        recorder):
    built(site)
    pages_before = {p for p in site.objects() if p.startswith("articles/")}
    recorder.take()
    site.write("lighthouse.txt", seed("Lighthouse reopens", "Harbour | Heritage",
                                      "2024-04-16 08:00"))
    built(site)
    sent = site.writes(recorder.take())
    assert {method for method, _ in sent} == {"PUT"}
    paths = [path for _, path in sent]
    new_pages = {p for p in site.objects() if p.startswith("articles/")} - pages_before
    assert [p for p in paths if p.startswith("articles/")] == sorted(new_pages)
    tags = [p for p in paths if p.startswith("tags/")]
    assert sorted(tags) == sorted(f"tags/{slug}{suffix}" for slug in ("harbour", "heritage")
                                  for suffix in (".atom", ".json", ".rss", "/index.html"))
    front = [p for p in paths if not p.startswith(("articles/", "tags/"))]
    assert sorted(front) == ["all.atom", "all.json", "all.rss", "index.html", "sitemap.xml",
                             "subscriptions.opml"]
    order = {path: index for index, path in enumerate(paths)}
    assert order[min(new_pages)] < min(order[p] for p in tags)
    assert max(order[p] for p in tags) < min(order[p] for p in ("all.atom", "all.json",
                                                                 "all.rss"))
    assert max(order[p] for p in ("all.atom", "all.rss", "all.json")) < min(
        order["index.html"], order["subscriptions.opml"])
    assert site.objects() == site.served()


def test_a_deleted_file_is_deleted_from_the_bucket_after_the_uploads(site, recorder):
    built(site)
    pages_before = {p for p in site.objects() if p.startswith("articles/")}
    recorder.take()
    (site.seeds / "market.txt").unlink()
    built(site)
    sent = site.writes(recorder.take())
    gone = pages_before - {p for p in site.objects() if p.startswith("articles/")}
    assert len(gone) == 1
    assert [path for method, path in sent if method == "DELETE"] == sorted(gone)
    assert sent[-1] == ("DELETE", min(gone))  # after every upload of the pass
    assert site.objects() == site.served()


def test_a_changed_header_rule_uploads_again_exactly_the_objects_it_changes(site, recorder):
    built(site, "--max-age", "300")
    recorder.take()
    built(site, "--max-age", "60")
    sent = site.writes(recorder.take())
    assert sorted(path for _, path in sent) == sorted(site.served())
    assert site.head("all.atom")["CacheControl"] == "public, max-age=60"


def test_the_record_of_the_bucket_holds_a_hash_of_each_objects_bytes_and_headers(site):
    built(site)
    rows = {}
    for name, body in site.own().items():
        if name.startswith("manifest/"):
            rows.update(json.loads(body)["objects"])
    served = site.served()
    assert rows.keys() == served.keys()
    for path, (sha256, headers, size, _etag) in rows.items():
        assert sha256 == hashlib.sha256(served[path]).hexdigest()
        assert size == len(served[path]) and len(headers) == 16


def test_a_restart_resumes_from_what_the_bucket_really_holds(site, recorder):
    built(site)
    page = next(p for p in site.objects() if p.startswith("articles/"))
    site.s3.delete_object(Bucket=site.bucket, Key=site.key(page))  # behind its back
    site.s3.put_object(Bucket=site.bucket, Key=site.key("stray.html"), Body=b"<p>not ours")
    recorder.take()
    built(site)
    assert sorted(site.writes(recorder.take())) == [("DELETE", "stray.html"), ("PUT", page)]
    assert site.objects() == site.served()


def test_more_deletes_than_the_guard_allows_fail_the_build_and_delete_nothing(site):
    site.write("lighthouse.txt", seed("Lighthouse reopens", "Harbour", "2024-04-16 08:00"))
    built(site)
    before = site.objects()
    (site.seeds / "market.txt").unlink()
    (site.seeds / "harbour.txt").unlink()
    result = site.build("--publish-max-deletes", "1")
    assert result.returncode == 1
    assert "2 objects would be deleted" in result.stderr
    assert "--publish-max-deletes" in result.stderr
    assert before.keys() <= site.objects().keys()  # nothing deleted (the uploads are made)
    assert site.status()["state"] == "refused"
    built(site, "--publish-max-deletes", "2")
    assert site.objects() == site.served()


def test_a_store_that_does_not_answer_fails_the_build_once_its_time_is_up(site):
    result = site.build("--publish-timeout", "2",
                        env=environment(f"http://127.0.0.1:{free_port()}"))
    assert result.returncode == 1
    assert f"the bucket {site.target} does not match" in result.stderr
    assert (site.feeds / "all.atom").is_file()  # the site itself is built
    assert site.status()["state"] == "failing"


def test_wrong_credentials_fail_the_build_and_say_so(site, recorder):
    result = site.build("--publish-timeout", "1", env=environment(
        recorder.url, AWS_SECRET_ACCESS_KEY="not-the-secret"))
    assert result.returncode == 1
    assert "check the credentials" in result.stderr
    assert site.objects() == {}


def test_a_second_publisher_on_the_prefix_is_refused_until_the_first_stops(site, tmp_path,
                                                                           recorder, store):
    first = MirroredSite(tmp_path / "first", recorder, store.s3)
    first.bucket, first.target = site.bucket, site.target
    first.write("a.txt", seed("Another site", "Other"))
    with running("publish", first, tmp_path / "publish.log"):
        result = site.build()
        assert result.returncode == 2
        assert f"{site.target} is in use by another publisher (pid" in result.stderr
        assert str(first.feeds) in result.stderr
        assert not (site.feeds / "mirror.json").exists() or site.objects().keys() == \
            first.objects().keys()
    built(site)  # the first one released the lock as it stopped
    assert site.objects() == site.served()


@contextlib.contextmanager
def running(command: str, site: MirroredSite, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``seedfeeds COMMAND`` on the site, once its mirror holds the prefix and is in sync."""
    with open(log, "ab") as sink:
        process = subprocess.Popen(
            [*SEEDFEEDS, command, *site.options("--websub", "false")], stdout=sink,
            stderr=subprocess.STDOUT, cwd=ROOT, env=environment(site.recorder.url))
    try:
        wait_for(lambda: process.poll() is None and site.status().get("in_sync"), 30,
                 f"{command} did not mirror: {log.read_text()}")
        yield process
    finally:
        stop_process(process)


def test_the_region_comes_from_aws_region(site, recorder):
    recorder.take()
    result = site.build(env=environment(recorder.url, AWS_REGION="eu-west-3",
                                        AWS_DEFAULT_REGION="us-west-1"))
    assert result.returncode == 0, result.stderr
    signed = [r.headers.get("Authorization", "") for r in recorder.take()]
    assert signed and all("/eu-west-3/s3/aws4_request" in s for s in signed)


def test_a_command_without_a_bucket_never_loads_boto3():
    """boto3 costs every command 130 ms and memory: only a bucket's client loads it."""
    code = ("import sys, service.cli, service.run, service.mirror.mirror; "
            "print('boto3' in sys.modules, 'botocore' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT).stdout.split()
    assert loaded == ["False", "False"]
