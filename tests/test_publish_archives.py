"""Every feed is a full history (RFC 5005 archived feeds, DESIGN 3 "Archives"): the
subscription document holds the newest arrivals, frozen archives hold the rest, and a
walk down ``prev-archive`` meets every article once; frozen archives never change."""

from __future__ import annotations

import shutil
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.config import load_settings
from service.identity import article_id
from service.publish.publisher import Publisher

from support.archives import history, read, walk
from support.processes import free_port
from support.sitecheck import assert_valid_feed
from support.webserver import running

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
ENTRIES, SIZE = 4, 2  # a subscription document of 3 or 4 entries, archives of 2
BASE = "https://news.example.org"


def article(number: int, tags: str, day: int = 1, hour: int = 0) -> str:
    return (f"---\ntitle: Report {number:03d}\ntags: [{tags}]\n"
            f"date: 2026-01-{day:02d} {hour:02d}:{number % 60:02d}\n---\nBody {number}.\n")


def tags_of(number: int) -> str:
    """Harbour on every article, Transport on every other, Weather on every third;
    Culture on one only (a feed too small to be archived)."""
    tags = ["Harbour"]
    tags += ["Transport"] if number % 2 else []
    tags += ["Weather"] if number % 3 == 0 else []
    tags += ["Culture"] if number == 7 else []
    return ", ".join(tags)


def release(number: int, day: int = 1, hour: int = 0) -> str:
    """The id of article ``number`` as ``article`` writes it."""
    when = datetime(2026, 1, day, hour, number % 60, tzinfo=UTC)
    return f"urn:uuid:{article_id(f'Report {number:03d}', when)}"


class Site:
    """A publisher over a seeds folder, with a clock the test moves."""

    def __init__(self, root: Path, base_url: str = BASE) -> None:
        self.seeds, self.feeds = root / "seeds", root / "feeds"
        self.seeds.mkdir(parents=True, exist_ok=True)
        self.settings = load_settings({
            "seeds": str(self.seeds), "feeds": str(self.feeds),
            "state": str(root / "state.sqlite"), "base_url": base_url,
            "entries": str(ENTRIES), "archive_size": str(SIZE)}, {})
        self.now = T0
        self.publisher = Publisher(self.settings, clock=lambda: self.now)

    def add(self, name: str, text: str) -> None:
        (self.seeds / name).write_text(text, encoding="utf-8")

    def add_reports(self, numbers: range, day: int = 1) -> None:
        """One front-matter file per report."""
        for number in numbers:
            self.add(f"report-{number:03d}.md", article(number, tags_of(number), day))

    def publish(self, minutes: float = 1) -> None:
        self.now += minutes * 60
        self.publisher.publish()

    def restart(self) -> None:
        self.publisher.close()
        self.publisher = Publisher(self.settings, clock=lambda: self.now)

    def fetch(self, url: str) -> bytes:
        assert url.startswith(self.settings.base_url + "/"), url
        return (self.feeds / url.removeprefix(self.settings.base_url + "/")).read_bytes()

    def archives(self) -> dict[str, bytes]:
        return {p.relative_to(self.feeds).as_posix(): p.read_bytes()
                for p in sorted((self.feeds / "archive").rglob("*.*"))}

    def close(self) -> None:
        self.publisher.close()


@pytest.fixture
def site(tmp_path: Path):
    made = Site(tmp_path)
    made.add_reports(range(1, 24))
    made.publish()
    yield made
    made.close()


FEEDS = ("all", "tags/harbour", "tags/transport", "tags/weather", "tags/culture")


def expected_ids(feed: str) -> set[str]:
    numbers = range(1, 24)
    keep = {"all": numbers, "tags/harbour": numbers,
            "tags/transport": [n for n in numbers if n % 2],
            "tags/weather": [n for n in numbers if n % 3 == 0], "tags/culture": [7]}[feed]
    return {release(n) for n in keep}


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
@pytest.mark.parametrize("feed", FEEDS)
def test_walking_back_from_a_subscription_document_meets_every_article_once(site, feed, fmt):
    met = history(walk(site.fetch, f"{BASE}/{feed}.{fmt}"))
    assert sorted(met) == sorted(expected_ids(feed))


@pytest.mark.parametrize("feed", FEEDS[:4])
def test_the_subscription_document_holds_the_arrivals_since_its_newest_archive(site, feed):
    documents = walk(site.fetch, f"{BASE}/{feed}.atom")
    head, *archived = documents
    assert ENTRIES - SIZE < len(head.ids) <= ENTRIES
    assert archived and all(len(document.ids) == SIZE for document in archived)
    assert not head.archive and not head.complete
    assert head.links["prev-archive"] == archived[0].url


def test_archives_name_themselves_the_subscription_document_and_the_older_archive(site):
    _, *archived = walk(site.fetch, f"{BASE}/tags/transport.atom")
    for newer, older in zip(archived, [*archived[1:], None], strict=True):
        assert newer.archive and not newer.complete
        assert newer.links["self"] == newer.url
        assert newer.links["current"] == f"{BASE}/tags/transport.atom"
        assert newer.links.get("prev-archive") == (older.url if older else None)
        number = int(newer.url.rsplit("/", 1)[1].split(".")[0])
        assert newer.links["next-archive"] == f"{BASE}/archive/tags/transport/{number + 1}.atom"
    assert archived[-1].url == f"{BASE}/archive/tags/transport/1.atom"


def test_rss_archives_carry_the_same_links_as_atom_links(site):
    head, *archived = walk(site.fetch, f"{BASE}/all.rss")
    assert head.links["self"] == f"{BASE}/all.rss"
    assert archived[0].links["current"] == f"{BASE}/all.rss"
    assert all(document.archive for document in archived)


def test_a_feed_that_holds_everything_says_it_is_complete(site):
    for fmt in ("atom", "rss"):
        document = read(f"{BASE}/tags/culture.{fmt}", site.fetch(f"{BASE}/tags/culture.{fmt}"))
        assert document.complete and "prev-archive" not in document.links
    assert not (site.feeds / "archive" / "tags" / "culture").exists()


def test_every_archive_is_a_valid_feed(site):
    paths = sorted((site.feeds / "archive").rglob("*.*"))
    assert len(paths) == 3 * 26  # all 10, harbour 10, transport 4, weather 2
    for path in paths:
        assert_valid_feed(path)


def test_new_arrivals_leave_every_frozen_archive_byte_identical(site):
    before = site.archives()
    for batch in range(3):
        site.add_reports(range(30 + 5 * batch, 35 + 5 * batch), day=2)
        site.publish()
    after = site.archives()
    assert {path: after[path] for path in before} == before
    assert len(after) > len(before)


def test_an_article_dropped_today_with_an_old_date_is_at_the_head_of_its_feeds(site):
    site.add("old.md", "---\ntitle: A report from last decade\ntags: [Weather]\n"
                       "date: 2016-05-01 09:00\n---\nFound in a drawer.\n")
    site.publish(minutes=60)
    for feed in ("all", "tags/weather"):
        for fmt in ("atom", "rss", "json"):
            head = read(f"{BASE}/{feed}.{fmt}", site.fetch(f"{BASE}/{feed}.{fmt}"))
            when = datetime(2016, 5, 1, 9, 0, tzinfo=UTC)
            assert head.ids[0] == f"urn:uuid:{article_id('A report from last decade', when)}"


def test_articles_that_arrive_together_keep_the_order_of_their_dates(site):
    head = read(f"{BASE}/all.atom", site.fetch(f"{BASE}/all.atom"))
    newest = sorted(range(1, 24), key=lambda n: -(n % 60))[:len(head.ids)]
    assert head.ids == [release(n) for n in newest]


def test_an_edited_archived_article_is_announced_again_and_its_archive_kept(site):
    before = site.archives()
    site.add("report-001.md", article(1, tags_of(1)).replace("Body 1.", "Body 1, corrected."))
    site.publish(minutes=30)
    head = read(f"{BASE}/all.atom", site.fetch(f"{BASE}/all.atom"))
    assert head.ids[0] == release(1)
    parsed = assert_valid_feed(site.feeds / "all.atom")
    assert "corrected" in parsed.entries[0].content[0].value
    after = site.archives()
    assert {path: after[path] for path in before} == before
    met = history(walk(site.fetch, f"{BASE}/all.atom"))
    assert met.count(release(1)) == 2 and met.index(release(1)) == 0


def test_a_deleted_article_leaves_the_archive_that_held_it_and_only_that_one(site):
    before = site.archives()
    (site.seeds / "report-001.md").unlink()
    site.publish()
    after = site.archives()
    changed = sorted(path for path in before if after.get(path) != before[path])
    assert changed == ["archive/all/1.atom", "archive/all/1.json", "archive/all/1.rss",
                       "archive/tags/harbour/1.atom", "archive/tags/harbour/1.json",
                       "archive/tags/harbour/1.rss", "archive/tags/transport/1.atom",
                       "archive/tags/transport/1.json", "archive/tags/transport/1.rss"]
    for feed in ("all", "tags/harbour", "tags/transport"):
        assert release(1) not in history(walk(site.fetch, f"{BASE}/{feed}.atom"))


def test_a_restart_renders_no_archive_again(site):
    stamps = {p: p.stat().st_mtime_ns for p in (site.feeds / "archive").rglob("*.*")}
    site.restart()
    site.publish()
    assert {p: p.stat().st_mtime_ns for p in (site.feeds / "archive").rglob("*.*")} == stamps


def test_a_lost_feeds_folder_gets_the_same_archives_back(site):
    before = site.archives()
    site.restart()
    shutil.rmtree(site.feeds)
    site.publish()
    assert site.archives() == before


def test_a_reader_walks_the_archives_over_http(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    made = Site(tmp_path, base)
    made.add_reports(range(1, 24))
    made.publish()
    made.close()
    with running(made.feeds, port):
        def fetch(url: str) -> bytes:
            with urllib.request.urlopen(url, timeout=10) as response:
                if "/archive/" in url:
                    assert response.headers["Cache-Control"] == (
                        "public, max-age=31536000, immutable")
                return response.read()
        for fmt in ("atom", "rss", "json"):
            met = history(walk(fetch, f"{base}/tags/transport.{fmt}"))
            assert sorted(met) == sorted(expected_ids("tags/transport"))


def test_an_article_deleted_while_no_publisher_ran_leaves_its_archives_at_restart(site):
    site.restart()
    (site.seeds / "report-001.md").unlink()
    site.publish()
    for feed in ("all", "tags/harbour", "tags/transport"):
        met = history(walk(site.fetch, f"{BASE}/{feed}.atom"))
        assert release(1) not in met and len(met) == len(expected_ids(feed)) - 1


def test_an_embargoed_article_arrives_at_the_head_when_it_is_released(site):
    due = datetime.fromtimestamp(site.now + 3600, UTC)
    site.add("later.md", f"---\ntitle: Held back\ntags: [Weather]\n"
                         f"date: {due:%Y-%m-%d %H:%M}\n---\nNot yet.\n")
    site.publish()
    held = f"urn:uuid:{article_id('Held back', due)}"
    assert held not in history(walk(site.fetch, f"{BASE}/all.atom"))
    site.publish(minutes=61)
    for feed in ("all", "tags/weather"):
        assert read(f"{BASE}/{feed}.atom", site.fetch(f"{BASE}/{feed}.atom")).ids[0] == held


def test_an_arrival_keeps_its_place_across_a_restart(site):
    site.add("old.md", "---\ntitle: A report from last decade\ntags: [Weather]\n"
                       "date: 2016-05-01 09:00\n---\nFound in a drawer.\n")
    site.publish(minutes=60)
    before = (site.feeds / "all.atom").read_bytes()
    site.restart()
    site.publish(minutes=60)
    assert (site.feeds / "all.atom").read_bytes() == before


def test_a_lost_archive_folder_is_written_again_by_the_next_rescan(site):
    before = site.archives()
    shutil.rmtree(site.feeds / "archive")
    site.publish()
    assert site.archives() == before
