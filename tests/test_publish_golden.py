"""A build of some fixture seeds is, file for file, the golden site in tests/data/site/.

The build takes a few fixtures of tests/data/seeds/ (``SITE_SEEDS``): a dump with
and without release times, CJK tags, page furniture, front matter in text and
Markdown, an article released after the clock, and a binary file, which is
reported while the others are published all the same. The settings are fixed (base
URL, site title, the fixtures' time zone, a state file in a temporary folder) and so
is the clock: it dates the undated articles, holds back the one released after it,
and is the time of every row of the manifest (index.json), which holds nothing else
that depends on time. So the site is the same on every run.

Compared as Pelican's ``assertDirsEqual`` does: the same set of files, each with the
same bytes, but for what depends on something other than seedfeeds. ``status.json``
is left out: it holds the timings of each pass. Compressed bytes depend on the zlib
build (zlib-ng's differ from zlib's), so a ``.gz`` file is compared by its content,
and its row in the manifest without its size and sha256.

``make golden`` rebuilds tests/data/site/ from the current code, so that a change of
output is reviewed as a diff; the tests never write it.
"""

from __future__ import annotations

import difflib
import gzip
import json
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.config import Settings, load_settings
from service.publish.publisher import Publisher

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "seeds"
GOLDEN = ROOT / "tests" / "data" / "site"
SITE_SEEDS = ("dump_doubled_headers.txt", "release_time_forms.txt", "page_furniture.txt",
              "front_matter.txt", "front_matter.md", "future_release.txt", "binary.txt")
CLOCK = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
LEFT_OUT = {"status.json"}
_GZ_ROW = re.compile(rb'("[^"]*\.gz":\{)"size":\d+,"sha256":"[0-9a-f]{64}",')
DIFF_LINES, DIFF_WIDTH = 12, 160  # of each differing file, in the assertion message


def build(workdir: Path) -> Any:
    """Build ``SITE_SEEDS`` into ``workdir``/feeds; returns the pass report."""
    seeds = workdir / "seeds"
    seeds.mkdir()
    for name in SITE_SEEDS:
        shutil.copyfile(FIXTURES / name, seeds / name)
    publisher = Publisher(site_settings(workdir), clock=lambda: CLOCK)
    try:
        return publisher.publish(None)
    finally:
        publisher.close()


def site_settings(workdir: Path) -> Settings:
    return load_settings({
        "seeds": str(workdir / "seeds"), "feeds": str(workdir / "feeds"),
        "state": str(workdir / "state" / "state.sqlite"), "base_url": "http://news.test",
        "site_title": "Fixture News", "timezone": "Asia/Shanghai", "entries": "6",
        "archive_size": "3",
        "max_file_size": "10MiB", "author": ""}, {})


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but those left out, by '/'-separated relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in LEFT_OUT}


def comparable(name: str, data: bytes) -> bytes:
    """A file's bytes as compared: without what depends on the zlib build."""
    if name.endswith(".gz"):
        return gzip.decompress(data)
    if name == "index.json":
        return _GZ_ROW.sub(rb"\1", data)
    return data


def difference(name: str, golden: bytes, built: bytes) -> str:
    """The file's name and the start of a unified diff of its golden and built bytes."""
    def lines(data: bytes) -> list[str]:
        text = data.decode("utf-8", "replace")
        if name.endswith(".json"):  # one long line in the manifest: a diff by key
            text = json.dumps(json.loads(text), ensure_ascii=False, indent=1)
        return [line[:DIFF_WIDTH] for line in text.splitlines()]

    diff = difflib.unified_diff(lines(golden), lines(built), f"tests/data/site/{name}",
                                f"built/{name}", n=1, lineterm="")
    return "\n".join([name, *list(diff)[:DIFF_LINES]])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The golden build in a temporary folder: its feeds folder and its pass report."""
    workdir = tmp_path_factory.mktemp("golden")
    report = build(workdir)
    return workdir / "feeds", report


def test_the_build_reports_the_binary_file_holds_back_one_and_publishes_the_rest(built):
    _, report = built
    assert (report.files, report.errors, report.embargoed, report.articles) == (7, 1, 1, 10)


def test_the_build_writes_the_golden_set_of_files(built):
    feeds, _ = built
    assert sorted(files(feeds)) == sorted(files(GOLDEN))


def test_every_built_file_has_its_golden_bytes(built):
    feeds, _ = built
    golden = {name: comparable(name, data) for name, data in files(GOLDEN).items()}
    site = {name: comparable(name, data) for name, data in files(feeds).items()}
    differences = [difference(name, golden[name], data) for name, data in site.items()
                   if name in golden and data != golden[name]]
    if differences:
        pytest.fail(f"{len(differences)} file(s) differ from the golden site (if the change "
                    "is meant, run make golden and review the diff):\n\n"
                    + "\n\n".join(differences), pytrace=False)


def test_the_fixtures_published_one_file_a_pass_give_the_golden_site(tmp_path: Path):
    """Each pass renders the feeds again from what the passes before rendered of their
    entries: the site is the one a single build makes."""
    (tmp_path / "seeds").mkdir()
    publisher = Publisher(site_settings(tmp_path), clock=lambda: CLOCK)
    try:
        publisher.publish(None)
        for name in SITE_SEEDS:
            shutil.copyfile(FIXTURES / name, tmp_path / "seeds" / name)
            publisher.publish({name})
    finally:
        publisher.close()
    golden = {name: comparable(name, data) for name, data in files(GOLDEN).items()}
    site = {name: comparable(name, data) for name, data in files(tmp_path / "feeds").items()}
    assert sorted(site) == sorted(golden)
    assert [name for name, data in site.items() if data != golden[name]] == []


def test_every_json_file_is_the_json_encoders_own_text(built):
    """The JSON feeds and the manifest are put together from kept pieces: they are what
    json.dumps writes for their content, indented (feeds) or compact (the manifest)."""
    feeds, _ = built
    for path in sorted(feeds.rglob("*.json")):
        if path.name == "status.json":
            continue
        data = path.read_bytes()
        if path.name == "index.json":
            again = json.dumps(json.loads(data), separators=(",", ":")) + "\n"
        else:
            again = json.dumps(json.loads(data), ensure_ascii=False, indent=2) + "\n"
        assert again.encode() == data, path.relative_to(feeds)


def regenerate() -> None:
    """Replace tests/data/site/ with a fresh build of ``SITE_SEEDS``."""
    with tempfile.TemporaryDirectory() as workdir:
        report = build(Path(workdir))
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(Path(workdir) / "feeds", GOLDEN,
                        ignore=lambda folder, names: LEFT_OUT & set(names))
    print(f"wrote {GOLDEN.relative_to(ROOT)}: {len(files(GOLDEN))} files, "
          f"{report.articles} articles")


if __name__ == "__main__":  # make golden
    regenerate()
