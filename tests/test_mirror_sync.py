"""`seedfeeds sync`: one full comparison of feeds/ with the bucket; --dry-run says what
it would upload and delete and writes nothing, otherwise the bucket is repaired."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import layout
from service.mirror.local import from_folder

from support.mirrored import MirroredSite, seed
from support.seaweed import Recorder, Seaweed


@pytest.fixture
def site(tmp_path: Path, store: Seaweed, recorder: Recorder) -> MirroredSite:
    made = MirroredSite(tmp_path, recorder, store.s3)
    made.write("harbour.txt", seed("Ferry timetable changes", "Harbour | Transport"))
    made.write("market.txt", seed("Night market opens", "Market", "2024-04-15 10:00"))
    return made


def sync(site: MirroredSite, *extra: str):
    return site.run("sync", "--feeds", str(site.feeds), "--base-url", "http://news.test",
                    "--publish-to", site.target, *extra)


def spoiled(site: MirroredSite) -> str:
    """A built site whose bucket lost a page and gained a stray; the lost page."""
    assert site.build().returncode == 0
    page = next(p for p in site.objects() if p.startswith("articles/"))
    site.s3.delete_object(Bucket=site.bucket, Key=site.key(page))
    site.s3.put_object(Bucket=site.bucket, Key=site.key("old/stray.html"), Body=b"stray")
    return page


def test_a_dry_run_prints_what_it_would_upload_and_delete_and_writes_nothing(site, recorder):
    page = spoiled(site)
    recorder.take()
    result = sync(site, "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:-1] == [f"upload {page}", "delete old/stray.html"]
    assert lines[-1].startswith(f"{site.target}: would upload 1, delete 1, ")
    assert [r for r in recorder.take() if r.method not in ("GET", "HEAD")] == []
    assert page not in site.objects()


def test_a_sync_repairs_the_bucket(site, recorder):
    page = spoiled(site)
    recorder.take()
    result = sync(site)
    assert result.returncode == 0, result.stderr
    assert f"mirrored to {site.target}: uploaded 1, deleted 1" in result.stdout
    assert sorted(site.writes(recorder.take())) == [("DELETE", "old/stray.html"),
                                                    ("PUT", page)]
    assert site.objects() == site.served()


def test_a_sync_uploads_a_site_built_without_a_bucket(site):
    plain = site.run("build", "--seeds", str(site.seeds), "--feeds", str(site.feeds),
                     "--state", str(site.state))
    assert plain.returncode == 0, plain.stderr
    assert site.objects() == {}
    assert sync(site).returncode == 0
    assert site.objects() == site.served()


def test_a_sync_that_would_delete_more_than_allowed_deletes_nothing(site):
    assert site.build().returncode == 0
    for name in ("a", "b", "c"):
        site.s3.put_object(Bucket=site.bucket, Key=site.key(f"{name}.html"), Body=b"x")
    result = sync(site, "--publish-max-deletes", "2")
    assert result.returncode == 1
    assert "3 objects would be deleted" in result.stderr
    assert {"a.html", "b.html", "c.html"} <= site.objects().keys()
    assert sync(site, "--publish-max-deletes", "3").returncode == 0
    assert site.objects() == site.served()


def test_a_sync_needs_a_bucket_and_a_built_site(site, tmp_path):
    no_bucket = site.run("sync", "--feeds", str(site.feeds))
    assert no_bucket.returncode == 2
    assert "--publish-to / SEEDFEEDS_PUBLISH_TO: sync needs a bucket" in no_bucket.stderr
    no_site = sync(site)
    assert no_site.returncode == 2
    assert "holds no published site" in no_site.stderr


ARCHIVES = ("archive/all/1.atom", "archive/all/1.rss", "archive/tags/harbour/1.json")


def test_a_sync_uploads_archives_immutable_with_their_content_type(site):
    assert site.build().returncode == 0
    site.archive(*ARCHIVES)
    assert sync(site).returncode == 0
    assert site.objects() == site.served()
    for path, media_type in zip(ARCHIVES, ("atom+xml", "rss+xml", "feed+json"), strict=True):
        stored = site.head(path)
        assert stored["CacheControl"] == layout.IMMUTABLE, path
        assert stored["ContentType"] == f"application/{media_type}; charset=utf-8", path


def test_a_sync_uploads_archives_after_the_article_pages_and_before_the_feeds(site, recorder):
    plain = site.run("build", "--seeds", str(site.seeds), "--feeds", str(site.feeds),
                     "--state", str(site.state))
    assert plain.returncode == 0, plain.stderr
    site.archive(*ARCHIVES)
    recorder.take()
    assert sync(site).returncode == 0
    order = {path: index for index, (_, path) in enumerate(site.writes(recorder.take()))}
    pages = [index for path, index in order.items() if path.startswith("articles/")]
    archives = [order[path] for path in ARCHIVES]
    feeds = [index for path, index in order.items() if path.startswith("tags/")
             or path in ("all.atom", "all.rss", "all.json")]
    assert max(pages) < min(archives) and max(archives) < min(feeds)


def test_a_snapshot_of_the_folder_lists_its_archives_as_pages(site):
    assert site.run("build", "--seeds", str(site.seeds), "--feeds", str(site.feeds),
                    "--state", str(site.state)).returncode == 0
    site.archive(*ARCHIVES)
    (site.feeds / "archive" / "all" / ".2.atom.123.tmp").write_bytes(b"half")
    snapshot = from_folder(site.feeds)
    assert set(ARCHIVES) <= snapshot.pages
    assert {path for path in snapshot.pages if path.startswith("archive/")} == set(ARCHIVES)
    assert not set(ARCHIVES) & snapshot.files.keys()
