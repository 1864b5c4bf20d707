"""Live publishing around restarts: the real watcher, scheduler and publisher on real
files, in this process (what `seedfeeds serve` and `seedfeeds publish` run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings, load_settings
from service.live.publishing import LivePublishing, initial_build

from support.sitecheck import assert_valid_feed
from support.waiting import wait_for

FERRY = ("The ferry is back! Transport | Harbour\n"
         "Release time:2026-01-05 08:30\n\nThe first electric ferry crossed today.\n")


def titles(feed: Path) -> list[str]:
    if not feed.exists():
        return []
    return [entry.title for entry in assert_valid_feed(feed).entries]


@pytest.fixture
def settings(tmp_path: Path, seeds: Path) -> Settings:
    """Live settings whose periodic reconcile is too far off to rescue any test."""
    return load_settings({"seeds": str(seeds), "feeds": str(tmp_path / "feeds"),
                          "state": str(tmp_path / "state.sqlite"), "reconcile": "300"}, {})


def test_a_file_written_during_the_initial_build_is_published_without_waiting(
        settings: Settings, seeds: Path):
    publisher = initial_build(settings)  # it has read the folder; nothing watches yet
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    live = LivePublishing(settings, publisher)
    live.start()
    try:
        wait_for(lambda: titles(settings.feeds / "all.atom") == ["The ferry is back!"], 3,
                 "a file written before the watcher started waited for the reconcile")
    finally:
        live.stop()


def test_a_file_edited_just_before_a_restart_stays_published(settings: Settings,
                                                              seeds: Path):
    (seeds / "ferry.txt").write_text(FERRY, encoding="utf-8")
    initial_build(settings).close()
    (seeds / "ferry.txt").write_text(FERRY.replace("today", "this morning"), "utf-8")
    restarted = initial_build(settings)  # the file changed a moment ago: is it complete?
    restarted.close()
    assert titles(settings.feeds / "all.atom") == ["The ferry is back!"]
