"""The writer of feeds/ and the unlisted files (``layout.unlisted``): archives, like
article pages, get no manifest row and no .gz sibling, are compared with the bytes on
disk, and are found again by a writer that starts on the same folder. A listed file's
.gz sibling is the gzip of its latest bytes; the file and its sibling are recorded
together once both are written, and a sibling that cannot be written fails the write,
before the manifest is saved."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service import layout
from service.publish.writer import SiteWriter

NOW = datetime(2026, 3, 1, tzinfo=UTC)
ARCHIVE = "archive/tags/harbour/1.atom"
PAGE = "articles/00000000-0000-5000-8000-000000000000.html"


def published(root: Path) -> SiteWriter:
    """A folder with a feed, an article page and three archives, its manifest saved."""
    writer = SiteWriter(root)
    writer.write("all.atom", b"<feed/>", NOW)
    writer.write(PAGE, b"<p>page</p>", NOW)
    for path in (ARCHIVE, "archive/all/1.atom", "archive/all/1.json"):
        writer.write(path, f"<feed>{path}</feed>".encode(), NOW)
    writer.save_manifest()
    return writer


def manifest(root: Path) -> dict[str, object]:
    return json.loads((root / layout.MANIFEST).read_bytes())["files"]


def test_an_archive_gets_no_manifest_row_and_no_gz_sibling(tmp_path: Path) -> None:
    published(tmp_path)
    assert (tmp_path / ARCHIVE).read_bytes() == f"<feed>{ARCHIVE}</feed>".encode()
    assert not (tmp_path / f"{ARCHIVE}.gz").exists()
    assert [path for path in manifest(tmp_path) if path.startswith("archive/")] == []
    assert "all.atom.gz" in manifest(tmp_path)  # a feed does get both


def test_a_written_archive_is_among_the_pages_of_the_pass(tmp_path: Path) -> None:
    writer = published(tmp_path)
    assert {ARCHIVE, "archive/all/1.atom", PAGE} <= writer.take_changes().pages


def test_an_archive_written_again_with_the_same_bytes_is_not_rewritten(tmp_path: Path) -> None:
    published(tmp_path)
    before = (tmp_path / ARCHIVE).stat().st_mtime_ns
    writer = SiteWriter(tmp_path)
    assert writer.write(ARCHIVE, f"<feed>{ARCHIVE}</feed>".encode(), NOW) is False
    assert (tmp_path / ARCHIVE).stat().st_mtime_ns == before
    assert writer.take_changes().pages == set()


UNLISTED = (ARCHIVE, "archive/all/1.atom", "archive/all/1.json", PAGE)


def test_a_second_writer_on_the_folder_knows_its_archives(tmp_path: Path) -> None:
    published(tmp_path)
    writer = SiteWriter(tmp_path)
    assert set(UNLISTED) <= writer.files()
    assert writer.intact(UNLISTED)


def test_after_its_first_pass_a_writer_compares_pages_with_the_disk(tmp_path: Path) -> None:
    """No name of each page is held once a pass is done: a page written again with its
    bytes is still left alone, and a new one is written."""
    published(tmp_path)
    writer = SiteWriter(tmp_path)
    writer.settled()
    assert writer.write(PAGE, b"<p>page</p>", NOW) is False
    assert writer.write("articles/new.html", b"<p>new</p>", NOW) is True
    assert writer.take_changes().pages == {"articles/new.html"}


def test_a_writer_whose_archive_was_deleted_is_not_intact(tmp_path: Path) -> None:
    published(tmp_path)
    writer = SiteWriter(tmp_path)
    (tmp_path / ARCHIVE).unlink()
    assert not writer.intact(UNLISTED)


def test_a_writer_whose_archive_folder_was_deleted_is_not_intact(tmp_path: Path) -> None:
    writer = published(tmp_path)
    for path in (ARCHIVE, "archive/all/1.atom", "archive/all/1.json"):
        (tmp_path / path).unlink()
    assert not writer.intact(UNLISTED)


def test_a_removed_archive_is_gone_from_the_folder_and_the_writer(tmp_path: Path) -> None:
    published(tmp_path)
    writer = SiteWriter(tmp_path)
    writer.remove(ARCHIVE)
    assert not (tmp_path / ARCHIVE).exists()
    assert ARCHIVE not in writer.files()
    changes = writer.take_changes()
    assert changes.count.removed == 1 and changes.gone == {ARCHIVE}
    assert writer.intact([path for path in UNLISTED if path != ARCHIVE])


@pytest.mark.parametrize("name", [".1.atom.123.tmp", ".hidden"])
def test_temp_and_dotted_files_under_archive_are_not_taken_for_archives(
        tmp_path: Path, name: str) -> None:
    published(tmp_path)
    (tmp_path / "archive" / "all" / name).write_bytes(b"half")
    (tmp_path / "archive" / ".hidden").mkdir()
    (tmp_path / "archive" / ".hidden" / "1.atom").write_bytes(b"x")
    pages = SiteWriter(tmp_path).files()
    assert f"archive/all/{name}" not in pages
    assert "archive/.hidden/1.atom" not in pages


def feed(number: int) -> bytes:
    return b"".join(b"<entry><id>%d.%d</id></entry>\n" % (number, n) for n in range(2000))


def test_each_feeds_sibling_is_the_gzip_of_its_bytes_recorded_with_it(tmp_path: Path) -> None:
    writer = SiteWriter(tmp_path)
    paths = [f"tags/t{n}.atom" for n in range(100)]
    for number, path in enumerate(paths):
        assert writer.write(path, feed(number), NOW) is True
    assert writer.save_manifest() is True
    rows = manifest(tmp_path)
    for number, path in enumerate(paths):
        packed = (tmp_path / f"{path}.gz").read_bytes()
        assert gzip.decompress(packed) == feed(number)
        assert packed[4:8] == b"\0\0\0\0"  # no time: the same bytes, the same sibling
        assert rows[f"{path}.gz"]["size"] == len(packed)
        assert rows[path]["size"] == len(feed(number))


def test_a_file_written_again_has_the_sibling_of_its_latest_bytes(tmp_path: Path):
    writer = SiteWriter(tmp_path)
    for number in range(5):
        writer.write("all.atom", feed(number), NOW)
    assert gzip.decompress((tmp_path / "all.atom.gz").read_bytes()) == feed(4)
    assert writer.take_changes().count.written == 5


def test_a_sibling_that_cannot_be_written_fails_the_write_and_records_nothing(tmp_path: Path):
    writer = SiteWriter(tmp_path)
    writer.write("all.rss", feed(0), NOW)
    (tmp_path / "all.atom.gz").mkdir()  # the sibling cannot be renamed over a folder
    with pytest.raises(OSError):
        writer.write("all.atom", feed(1), NOW)
    assert "all.atom" not in writer.manifest and "all.atom.gz" not in writer.manifest
    assert "all.rss.gz" in writer.manifest  # the other file's sibling was written
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    (tmp_path / "all.atom.gz").rmdir()
    assert writer.write("all.atom", feed(1), NOW) is True  # not taken for unchanged
    assert writer.save_manifest() is True
    assert {"all.atom", "all.atom.gz", "all.rss", "all.rss.gz"} <= manifest(tmp_path).keys()


def test_the_manifest_is_the_same_bytes_saved_at_once_or_from_rows_kept_across_saves(
        tmp_path: Path) -> None:
    """The first save encodes every row at once, later ones reuse each unchanged row's
    text: both are the compact JSON of the whole manifest, sorted by path."""
    writer = SiteWriter(tmp_path)
    for number in range(30):
        writer.write(f"tags/t{number}.atom", feed(number), NOW)
    writer.write("tags/café-新闻.atom", feed(99), NOW)  # a path json escapes
    expected = []
    for step in range(3):
        assert writer.save_manifest() is True
        rows = {path: record.to_json() for path, record in sorted(writer.manifest.items())}
        expected.append(json.dumps({"version": 1, "files": rows}, separators=(",", ":")))
        assert (tmp_path / layout.MANIFEST).read_text() == expected[-1] + "\n"
        writer.write(f"tags/t{step}.atom", feed(100 + step), NOW)  # one row changes
        writer.remove(f"tags/t{20 + step}.atom")  # and two go
    assert len(set(expected)) == 3
