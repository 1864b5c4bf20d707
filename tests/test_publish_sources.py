"""Absence is not deletion: a seeds folder, subfolder or file that cannot be seen is a
problem to report, never a reason to unpublish; links out of the folder are not read;
one bad file never stops a build (DESIGN 3, issue 12). Through `seedfeeds build`, as
an operator runs it, and a long-lived publisher for what only a running one remembers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.config import load_settings
from service.publish.publisher import Publisher

from support.processes import ROOT, SEEDFEEDS
from support.sitecheck import assert_valid_feed, entry_ids
from support.sitecheck import snapshot as every_file

FERRY = ("The ferry is back! Transport | Harbour\n"
         "Release time:2026-01-05 08:30\n\nThe first electric ferry crossed today.\n")
LIBRARY = ("Libraries reopen on Monday. Culture | City\n"
           "Libraries reopen on Monday. Culture | City\n\nThree libraries open again.\n")
SECRET = ("Secret root password! Leaks | Secrets\n"
          "Secret root password! Leaks | Secrets\n\nroot:x:0:0:root:/root:/bin/bash\n")
# As root, permissions stop nobody: a child without the two capabilities that bypass
# them meets the folder's mode bits as any other user would (and can still run Python).
AS_A_USER = (["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
             if os.geteuid() == 0 else [])


def snapshot(feeds: Path) -> dict[str, tuple[int, bytes]]:
    """The published files (not the lock file beside them, which names its process)."""
    return {path: file for path, file in every_file(feeds).items()
            if not path.startswith(".")}


class Site:
    """A seeds folder, a feeds folder and a state, built by `seedfeeds build`."""

    def __init__(self, root: Path) -> None:
        self.root, self.seeds, self.feeds = root, root / "seeds", root / "feeds"
        self.seeds.mkdir(exist_ok=True)

    def write(self, name: str, text: str) -> Path:
        path = self.seeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def build(self, *options: str, seeds: Path | None = None,
              prefix: tuple[str, ...] | list[str] = ()) -> subprocess.CompletedProcess[str]:
        command = [*prefix, *SEEDFEEDS, "build", "--seeds", str(seeds or self.seeds),
                   "--feeds", str(self.feeds), "--state", str(self.root / "state.sqlite"),
                   "--base-url", "https://news.example.org", *options]
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60,
                              env={**os.environ, "PYTHONUTF8": "1"})

    def titles(self) -> list[str]:
        return sorted(entry.title for entry in assert_valid_feed(self.feeds / "all.atom").entries)

    def status(self) -> dict:
        return json.loads((self.feeds / "status.json").read_bytes())


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


@pytest.fixture
def built(site: Site) -> Site:
    """A site with two articles, one of them in a subfolder."""
    site.write("ferry.txt", FERRY)
    site.write("city/library.txt", LIBRARY)
    result = site.build()
    assert result.returncode == 0, result.stderr
    return site


def test_build_with_a_missing_seeds_folder_refuses_in_one_line_and_changes_nothing(built):
    before = snapshot(built.feeds)
    result = built.build(seeds=built.root / "seedz")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert str(built.root / "seedz") in line and "--seeds" in line
    assert "SEEDFEEDS_SEEDS" in line
    assert snapshot(built.feeds) == before


def test_build_on_a_seeds_folder_emptied_since_the_last_build_keeps_the_site(built):
    before = snapshot(built.feeds)
    shutil.rmtree(built.seeds)
    built.seeds.mkdir()  # an unmounted share: its mount point is there, empty
    result = built.build()
    assert result.returncode != 0
    assert f"{built.seeds}: error: " in result.stderr and "empty" in result.stderr
    assert snapshot(built.feeds) == before


def test_an_empty_seeds_folder_on_the_first_build_is_an_empty_site(site):
    result = site.build()
    assert result.returncode == 0, result.stderr
    assert site.titles() == []


def test_a_running_publisher_whose_seeds_folder_goes_keeps_its_articles_and_says_so(built):
    settings = load_settings({"seeds": str(built.seeds), "feeds": str(built.feeds),
                              "state": str(built.root / "state.sqlite"),
                              "base_url": "https://news.example.org"}, {})
    publisher = Publisher(settings)
    try:
        publisher.publish()
        published = entry_ids(built.feeds / "all.atom")
        built.seeds.rename(built.root / "unmounted")
        publisher.publish()
        assert entry_ids(built.feeds / "all.atom") == published
        (error,) = built.status()["errors"]
        assert (error["path"], error["line"]) == (str(built.seeds), None)
        assert "does not exist" in error["message"]
        (built.root / "unmounted").rename(built.seeds)
        publisher.publish()
        assert built.status()["errors"] == []
    finally:
        publisher.close()


def test_an_unreadable_subfolder_is_an_error_naming_it_and_its_articles_stay(built):
    before = snapshot(built.feeds)
    (built.seeds / "city").chmod(0)
    try:
        result = built.build(prefix=AS_A_USER)
    finally:
        (built.seeds / "city").chmod(0o755)
    assert result.returncode != 0
    assert "city: error: cannot be read: permission denied" in result.stderr
    assert snapshot(built.feeds) == before


def test_a_path_too_long_to_open_is_an_error_naming_it(site):
    site.write("ferry.txt", FERRY)
    folder = os.open(site.seeds, os.O_RDONLY)
    parts: list[str] = []
    while len(str(site.seeds)) + len("/".join(parts)) < 4200:  # PATH_MAX is 4096
        parts.append("d" * 200)
        os.mkdir(parts[-1], dir_fd=folder)
        inner = os.open(parts[-1], os.O_RDONLY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.close(folder)
    result = site.build()
    assert result.returncode == 1
    assert "d" * 200 + ": error: path too long to open" in result.stderr
    assert site.titles() == ["The ferry is back!"]


def test_a_seed_file_linking_outside_the_seeds_folder_is_not_read(site):
    outside = site.root / "etc"
    outside.mkdir()
    (outside / "passwd").write_text(SECRET, encoding="utf-8")
    site.write("ferry.txt", FERRY)
    (site.seeds / "passwd.txt").symlink_to(outside / "passwd")
    result = site.build()
    assert result.returncode == 1
    assert "passwd.txt: error: links outside the seeds folder; not read" in result.stderr
    assert site.titles() == ["The ferry is back!"]


def test_a_folder_linking_outside_the_seeds_folder_is_not_read(site):
    outside = site.root / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    site.write("ferry.txt", FERRY)
    (site.seeds / "shared").symlink_to(outside, target_is_directory=True)
    result = site.build()
    assert "shared: error: links outside the seeds folder; not read" in result.stderr
    assert site.titles() == ["The ferry is back!"]


def test_a_link_to_a_seed_file_inside_is_read_once(site):
    site.write("ferry.txt", FERRY)
    (site.seeds / "latest.txt").symlink_to("ferry.txt")
    result = site.build()
    assert result.returncode == 0, result.stderr
    assert site.titles() == ["The ferry is back!"]
    assert site.status()["warnings"] == []  # not "the same article as ferry.txt"


def test_a_release_time_out_of_range_does_not_stop_the_build(site):
    site.write("ferry.txt", FERRY)
    site.write("future.txt", "The far future! Time | Harbour\n"
                             "Release time: 9999-12-31T23:59:59-05:00\n\nAll is well.\n")
    result = site.build()
    assert result.returncode == 0, result.stderr
    assert site.titles() == ["The far future!", "The ferry is back!"]
    (warning,) = site.status()["warnings"]
    assert (warning["path"], warning["line"]) == ("future.txt", 2)


def test_a_file_name_that_is_not_utf8_keeps_status_json_writable(site):
    with open(os.path.join(os.fsencode(site.seeds), b"caf\xe9.txt"), "wb") as seed:
        seed.write(FERRY.replace("2026-01-05 08:30", "soon").encode())
    result = site.build()
    assert result.returncode == 0, result.stderr
    status = site.status()
    assert status["failing"] is None
    assert [w["path"] for w in status["warnings"]] == ["caf\\xe9.txt"]
    assert site.titles() == ["The ferry is back!"]
