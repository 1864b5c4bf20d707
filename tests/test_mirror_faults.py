"""The bucket as a pass output that loses nothing: a store killed in the middle of a
pass and started again gets everything; while it is down, the site is published
locally, the mirror says it is failing, and it catches up once the store is back."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from support.liveserver import LiveServer
from support.mirrored import MirroredSite, seed
from support.processes import ROOT, SEEDFEEDS
from support.seaweed import Recorder, Seaweed, environment
from support.waiting import wait_for


@pytest.fixture
def site(tmp_path: Path, store: Seaweed, recorder: Recorder) -> MirroredSite:
    return MirroredSite(tmp_path, recorder, store.s3)


def many_articles(count: int) -> str:
    return "".join(seed(f"Harbour notice number {n}", f"Harbour | Notice {n % 7}",
                        f"2024-04-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}")
                   for n in range(count))


def site_puts(site: MirroredSite, recorder: Recorder) -> int:
    return sum(1 for method, _ in site.writes(list(recorder.requests)) if method == "PUT")


def test_a_store_killed_in_the_middle_of_a_build_gets_everything_once_it_is_back(
        site, store, recorder):
    site.write("notices.txt", many_articles(300))
    recorder.take()
    build = subprocess.Popen([*SEEDFEEDS, "build", *site.options("--publish-workers", "2",
                                                                  "--publish-timeout", "60")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT, env=environment(recorder.url))
    try:
        wait_for(lambda: site_puts(site, recorder) >= 40, 60, "the build sent nothing")
        store.kill()
        time.sleep(1.5)
        assert build.poll() is None  # still trying
        store.start()
        out, err = build.communicate(timeout=90)
    finally:
        build.kill()
    assert build.returncode == 0, err
    assert "mirror: attempt 1 failed" in err
    assert f"mirrored to {site.target}" in out
    assert site.objects() == site.served()
    assert len(site.objects()) > 300


def test_while_the_store_is_down_serve_publishes_locally_and_the_bucket_catches_up(
        site, store, recorder, monkeypatch):
    for name, value in environment(recorder.url).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    site.write("harbour.txt", seed("Ferry timetable changes", "Harbour"))
    with LiveServer(site.root, "--publish-to", site.target, "--websub", "false") as server:
        wait_for(lambda: site.status().get("in_sync"), 30, "the first pass was not mirrored")
        store.kill()
        site.write("storm.txt", seed("Storm closes the harbour", "Harbour",
                                     "2024-04-16 09:00"))
        wait_for(lambda: "Storm closes the harbour." in server.titles(), 10,
                 "not published locally")
        failing = wait_for(lambda: site.status().get("failing"), 20, "no failure shown")
        assert site.status()["state"] == "failing" and site.status()["in_sync"] is False
        assert failing["attempts"] >= 1 and failing["error"] and failing["next_retry"]
        store.start()
        wait_for(lambda: site.status().get("in_sync"), 60, "never caught up")
        assert site.status()["state"] == "ok" and site.status()["failing"] is None
        assert b"Storm closes the harbour" in site.objects()["all.atom"]
        assert site.objects() == site.served()
