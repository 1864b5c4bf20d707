"""A publish pass builds a complete, valid, deterministic static site (DESIGN 2-4)."""

from __future__ import annotations

import gc
import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.config import load_settings
from service.publish.publisher import Publisher

from support.sitecheck import assert_valid_feed, assert_valid_site, entry_ids, snapshot

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC).timestamp()
FERRY = ("The ferry is back! Transport | Harbour\n"
         "Release time:2026-01-05 08:30\n\nThe first electric ferry crossed today.\n")
LIBRARY = ("Libraries reopen on Monday. Culture | City\n"
           "Libraries reopen on Monday. Culture | City\n\nThree libraries open again.\n")
AWKWARD = ("Tom & Jerry's <b>\"big\"</b> day 中文 Culture | A&B <x>\n"
           "Release time:2026-01-04 10:00\n\nBody with <tags> & \"quotes\" 渡轮 \x07bell.\n")


class Clock:
    """A settable clock, so that first-seen times are known."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path: Path, seeds: Path):
    return load_settings({"seeds": str(seeds), "feeds": str(tmp_path / "feeds"),
                          "state": str(tmp_path / "state" / "state.sqlite"),
                          "base_url": "https://news.example.org", "entries": "50"}, {})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def publish(settings, clock):
    """Run one pass of a fresh publisher (a process start), or reuse the last one."""
    publishers: list[Publisher] = []

    def run(paths=None, *, restart: bool = False):
        if restart or not publishers:
            if publishers:
                publishers[-1].close()
            publishers.append(Publisher(settings, clock=clock))
        return publishers[-1].publish(paths)

    yield run
    for publisher in publishers:
        publisher.close()


def test_a_build_writes_every_feed_page_and_list(write, settings, publish):
    write("ferry.txt", FERRY)
    write("library.txt", LIBRARY)
    report = publish()
    feeds = settings.feeds
    expected = ["index.html", "subscriptions.opml", "index.json", "status.json", "404.html",
                "static/style.css", "all.atom", "all.rss", "all.json",
                "tags/harbour.atom", "tags/harbour.rss", "tags/harbour.json",
                "tags/harbour/index.html", "all.atom.gz", "index.html.gz",
                "tags/harbour.atom.gz", "tags/harbour/index.html.gz", "subscriptions.opml.gz"]
    assert [p for p in expected if not (feeds / p).is_file()] == []
    assert len(list((feeds / "articles").glob("*.html"))) == 2
    assert not list((feeds / "articles").glob("*.gz"))
    assert (report.files, report.articles, report.tags, report.errors) == (2, 2, 4, 0)


def test_every_feed_is_valid_atom_rss_and_json_feed(write, settings, publish):
    write("ferry.txt", FERRY)
    write("awkward.txt", AWKWARD)
    publish()
    assert assert_valid_site(settings.feeds) == 3 * (1 + 4)


def test_awkward_text_survives_the_round_trip(write, settings, publish):
    write("awkward.txt", AWKWARD)
    publish()
    entry = assert_valid_feed(settings.feeds / "all.atom").entries[0]
    assert entry.title == "Tom & Jerry's <b>\"big\"</b> day 中文"
    assert [t.term for t in entry.tags] == ["Culture", "A&B <x>"]
    assert "&lt;tags&gt;" in entry.content[0].value and "\x07" not in entry.content[0].value


def test_entry_ids_are_urn_uuids_identical_across_formats(write, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    atom = assert_valid_feed(settings.feeds / "all.atom").entries[0].id
    rss_text = (settings.feeds / "all.rss").read_text("utf-8")
    json_id = json.loads((settings.feeds / "all.json").read_text("utf-8"))["items"][0]["id"]
    assert atom.startswith("urn:uuid:")
    assert f'<guid isPermaLink="false">{atom}</guid>' in rss_text
    assert json_id == atom


def test_entries_link_to_absolute_article_pages(write, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    entry = assert_valid_feed(settings.feeds / "tags/harbour.atom").entries[0]
    article_id = entry.id.removeprefix("urn:uuid:")
    assert entry.link == f"https://news.example.org/articles/{article_id}"
    assert (settings.feeds / f"articles/{article_id}.html").is_file()


def test_a_feed_is_updated_at_its_newest_entry_not_at_build_time(write, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    parsed = assert_valid_feed(settings.feeds / "tags/harbour.atom")
    assert parsed.feed.updated == "2026-01-05T08:30:00+00:00"


def test_entries_are_newest_published_first_ties_by_id(write, settings, publish):
    same_time = "Release time:2026-01-05 08:30\n\nBody.\n"
    write("a.txt", f"Zebra story! Harbour | News\n{same_time}\nAlpha story! Harbour | News\n"
                   f"{same_time}\nOlder story! Harbour | News\n"
                   "Release time:2025-01-01 00:00\n\nBody.\n")
    publish()
    ids = entry_ids(settings.feeds / "tags/harbour.atom")
    assert ids[:2] == sorted(ids[:2])
    titles = [e.title for e in assert_valid_feed(settings.feeds / "tags/harbour.atom").entries]
    assert titles[2] == "Older story!"


def test_an_undated_article_is_published_when_first_seen(write, settings, publish, clock):
    write("library.txt", LIBRARY)
    publish()
    entry = assert_valid_feed(settings.feeds / "all.atom").entries[0]
    assert entry.published == datetime.fromtimestamp(T0, UTC).isoformat()


def test_a_rebuild_after_restart_rewrites_no_file(write, settings, publish, clock):
    write("ferry.txt", FERRY)
    write("library.txt", LIBRARY)
    publish()
    before = snapshot(settings.feeds)
    clock.now += 3600
    report = publish(restart=True)
    assert report.files_written == 0
    assert snapshot(settings.feeds) == before


def test_deleting_the_state_changes_no_id(write, settings, publish):
    write("ferry.txt", FERRY)
    write("library.txt", LIBRARY)
    publish()
    before = sorted(entry_ids(settings.feeds / "all.atom"))
    shutil.rmtree(settings.state.parent)
    publish(restart=True)
    assert sorted(entry_ids(settings.feeds / "all.atom")) == before


def test_moving_a_file_changes_no_id_and_duplicates_nothing(write, seeds, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    before = entry_ids(settings.feeds / "all.atom")
    (seeds / "archive").mkdir()
    (seeds / "ferry.txt").rename(seeds / "archive" / "renamed.txt")
    publish({"ferry.txt", "archive/renamed.txt"})
    assert entry_ids(settings.feeds / "all.atom") == before


def test_the_same_article_in_two_files_is_published_once(write, settings, publish):
    write("a.txt", FERRY)
    write("b.txt", FERRY)
    publish()
    assert len(entry_ids(settings.feeds / "all.atom")) == 1
    status = json.loads((settings.feeds / "status.json").read_text("utf-8"))
    assert [w["path"] for w in status["warnings"] if "same article" in w["message"]] == ["b.txt"]


def test_editing_the_body_moves_updated_not_published_or_id(write, settings, publish, clock):
    write("ferry.txt", FERRY)
    publish()
    before = assert_valid_feed(settings.feeds / "all.atom").entries[0]
    clock.now += 600
    write("ferry.txt", FERRY.replace("crossed today", "crossed the river today"))
    publish({"ferry.txt"})
    after = assert_valid_feed(settings.feeds / "all.atom").entries[0]
    assert (after.id, after.published) == (before.id, before.published)
    assert after.updated == datetime.fromtimestamp(clock.now, UTC).isoformat()
    assert after.updated != before.updated


def test_an_edited_body_is_in_every_feed_of_the_article_in_every_format(write, settings,
                                                                        publish, clock):
    """The feeds of a pass are put together from what the pass before rendered of their
    entries: an edited article is rendered anew, never taken from there."""
    write("ferry.txt", FERRY)
    write("library.txt", LIBRARY)
    publish()
    clock.now += 600
    write("ferry.txt", FERRY.replace("crossed today", "crossed the river today"))
    publish({"ferry.txt"})
    for feed in ("all", "tags/harbour", "tags/transport"):
        for fmt in ("atom", "rss", "json"):
            text = (settings.feeds / f"{feed}.{fmt}").read_text("utf-8")
            assert "crossed the river today" in text, f"{feed}.{fmt}"
            assert "crossed today" not in text, f"{feed}.{fmt}"


def test_deleting_a_file_unpublishes_its_articles_and_pages(write, seeds, settings, publish):
    write("ferry.txt", FERRY)
    write("library.txt", LIBRARY)
    publish()
    ferry_id = entry_ids(settings.feeds / "tags/harbour.atom")[0].removeprefix("urn:uuid:")
    (seeds / "ferry.txt").unlink()
    publish({"ferry.txt"})
    assert len(entry_ids(settings.feeds / "all.atom")) == 1
    assert not (settings.feeds / f"articles/{ferry_id}.html").exists()


def test_a_tag_that_loses_its_last_article_keeps_a_valid_empty_feed(write, seeds, settings,
                                                                    publish):
    write("ferry.txt", FERRY)
    write("library.txt", LIBRARY)
    publish()
    (seeds / "ferry.txt").unlink()
    publish({"ferry.txt"})
    for fmt in ("atom", "rss", "json"):
        parsed = assert_valid_feed(settings.feeds / f"tags/harbour.{fmt}")
        assert len(parsed["items"] if fmt == "json" else parsed.entries) == 0
    index = (settings.feeds / "index.html").read_text("utf-8")
    assert "tags/harbour/" not in index


def test_a_file_that_breaks_keeps_its_last_good_articles(write, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    write("ferry.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    report = publish({"ferry.txt"})
    assert report.errors == 1
    assert len(entry_ids(settings.feeds / "all.atom")) == 1
    status = json.loads((settings.feeds / "status.json").read_text("utf-8"))
    (error,) = status["errors"]
    assert error["path"] == "ferry.txt" and error["line"] and "binary" in error["message"]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def test_a_file_that_breaks_keeps_its_last_good_articles_after_a_restart(write, settings,
                                                                         publish):
    write("ferry.txt", FERRY)
    publish()
    published = entry_ids(settings.feeds / "all.atom")
    write("ferry.txt", PNG)
    publish({"ferry.txt"})
    report = publish(restart=True)
    assert (report.errors, report.articles) == (1, 1)
    assert entry_ids(settings.feeds / "all.atom") == published
    assert len(list((settings.feeds / "articles").glob("*.html"))) == 1


def test_a_broken_file_keeps_its_newest_good_articles_after_a_restart(write, settings,
                                                                      publish):
    write("ferry.txt", FERRY)
    publish()
    write("ferry.txt", PNG)
    publish({"ferry.txt"})
    write("ferry.txt", LIBRARY)
    publish({"ferry.txt"})
    write("ferry.txt", PNG + b"again")
    publish({"ferry.txt"})
    publish(restart=True)
    titles = [e.title for e in assert_valid_feed(settings.feeds / "all.atom").entries]
    assert titles == ["Libraries reopen on Monday."]


def test_a_broken_file_deleted_while_stopped_publishes_nothing_after_a_restart(
        write, seeds, settings, publish):
    write("ferry.txt", FERRY)
    write("library.txt", LIBRARY)  # not the last file: an emptied folder unpublishes nothing
    publish()
    (library,) = [e.id for e in assert_valid_feed(settings.feeds / "all.atom").entries
                  if e.title.startswith("Libraries")]
    write("ferry.txt", PNG)
    publish({"ferry.txt"})
    (seeds / "ferry.txt").unlink()
    publish(restart=True)
    write("ferry.txt", PNG)
    report = publish({"ferry.txt"})
    assert (report.errors, report.articles) == (1, 1)
    assert entry_ids(settings.feeds / "all.atom") == [library]


def test_a_rescan_leaves_a_file_changed_within_the_settle_time(write, settings, clock):
    publisher = Publisher(settings, clock=clock, settle=1.0)
    publisher.publish()
    path = write("ferry.txt", FERRY[:40])  # a writer has it open, half written
    report = publisher.publish()  # the periodic reconcile
    assert (report.unsettled, report.articles) == (("ferry.txt",), 0)
    path.write_text(FERRY, encoding="utf-8")
    quiet = time.time() - 2
    os.utime(path, (quiet, quiet))
    report = publisher.publish()
    publisher.close()
    assert (report.unsettled, report.articles) == ((), 1)


def test_a_bad_file_does_not_stop_the_others(write, settings, publish):
    write("bad.txt", b"\x00" * 100)
    write("library.txt", LIBRARY)
    report = publish()
    assert (report.errors, report.articles) == (1, 1)


def test_an_incremental_pass_rewrites_only_what_it_touches(write, settings, publish, clock):
    for n in range(5):
        write(f"old{n}.txt", f"Old story {n}! Archive{n} | Old\n"
                             "Release time:2024-01-01 00:00\n\nBody.\n")
    write("ferry.txt", FERRY)
    publish()
    before = snapshot(settings.feeds)
    clock.now += 60
    write("library.txt", LIBRARY)
    publish({"library.txt"})
    after = snapshot(settings.feeds)
    changed = sorted(p for p in after if before.get(p) != after[p])
    untouched_tag = "tags/archive0.atom"
    assert untouched_tag not in changed
    assert "tags/culture.atom" in changed and "all.atom" in changed and "index.html" in changed
    assert all(not p.startswith("tags/archive") for p in changed)


def test_the_index_row_of_a_tag_follows_its_count_and_last_update(write, settings, publish,
                                                                  clock):
    def culture_row() -> str:
        page = (settings.feeds / "index.html").read_text("utf-8")
        return page[page.index('href="https://news.example.org/tags/culture/"'):][:600]

    write("library.txt", LIBRARY)
    publish()
    assert 'count">1<span' in culture_row() and "10 Jan 2026, 12:00" in culture_row()
    clock.now += 3600
    write("museum.txt", "Museums open late! Culture | City\n\nOpen until ten.\n")
    publish({"museum.txt"})
    assert 'count">2<span' in culture_row() and "10 Jan 2026, 13:00" in culture_row()
    (settings.seeds / "museum.txt").unlink()
    publish({"museum.txt"})
    assert 'count">1<span' in culture_row()


def test_a_cold_pass_leaves_the_garbage_collector_on(write, publish):
    write("ferry.txt", FERRY)
    assert gc.isenabled()
    publish()
    assert gc.isenabled()


def test_the_manifest_lists_size_hash_and_time_of_each_file(write, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    manifest = json.loads((settings.feeds / "index.json").read_text("utf-8"))["files"]
    atom = manifest["all.atom"]
    data = (settings.feeds / "all.atom").read_bytes()
    import hashlib
    assert atom["size"] == len(data)
    assert atom["sha256"] == hashlib.sha256(data).hexdigest()
    assert atom["updated"].startswith("2026-01-10")
    assert "all.atom.gz" in manifest


def test_status_records_the_pass_and_keeps_a_history(write, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    publish({"ferry.txt"})
    status = json.loads((settings.feeds / "status.json").read_text("utf-8"))
    assert status["last_pass"]["articles"] == 1
    assert len(status["history"]) == 2


def test_a_corrupt_state_is_rebuilt_with_a_warning(write, settings, publish, caplog):
    write("ferry.txt", FERRY)
    settings.state.parent.mkdir(parents=True)
    settings.state.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # a damaged header
    report = publish()
    assert report.articles == 1
    assert "is corrupt" in caplog.text


def test_an_article_released_in_the_future_is_withheld(write, settings, publish, clock):
    write("soon.txt", "Coming soon! Harbour | News\nRelease time:2026-01-10 13:00\n\nBody.\n")
    report = publish()
    assert (report.articles, report.embargoed) == (0, 1)
    assert report.next_release == "2026-01-10T13:00:00+00:00"
    assert not (settings.feeds / "tags/harbour.atom").exists()
    clock.now += 3600
    report = publish(set())
    assert (report.articles, report.embargoed) == (1, 0)
    assert len(entry_ids(settings.feeds / "tags/harbour.atom")) == 1


def test_stale_pages_left_by_a_lost_state_are_removed(write, seeds, settings, publish):
    write("ferry.txt", FERRY)
    publish()
    (seeds / "ferry.txt").unlink()
    write("library.txt", LIBRARY)
    publish(restart=True)
    assert len(list((settings.feeds / "articles").glob("*.html"))) == 1
