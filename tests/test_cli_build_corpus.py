"""Builds of real and generated seeds: valid feeds everywhere, the CLI's summary."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from service.cli import main

from support.sitecheck import assert_valid_feed, assert_valid_site, snapshot

GENERATOR = Path(__file__).resolve().parent.parent / "bench" / "make_corpus.py"


def build(seeds: Path, tmp_path: Path, *extra: str):
    return CliRunner().invoke(main, ["build", "--seeds", str(seeds),
                                     "--feeds", str(tmp_path / "feeds"),
                                     "--state", str(tmp_path / "state.sqlite"), *extra])


def test_the_real_seed_builds_valid_feeds_for_its_22_tags(real_seed, seeds, tmp_path):
    shutil.copy(real_seed, seeds / real_seed.name)
    result = build(seeds, tmp_path)
    assert result.exit_code == 0, result.output
    feeds = tmp_path / "feeds"
    assert len(list((feeds / "tags").glob("*.atom"))) == 22
    assert assert_valid_site(feeds) == 3 * 23
    assert len(assert_valid_feed(feeds / "all.atom").entries) == 6


def test_a_generated_corpus_builds_valid_feeds(seeds, tmp_path):
    subprocess.run([sys.executable, str(GENERATOR), str(seeds), "--articles", "600",
                    "--files", "12", "--tags", "40", "--seed", "5"], check=True)
    result = build(seeds, tmp_path, "--entries", "20", "--archive-size", "10")
    assert result.exit_code == 0, result.output
    feeds = tmp_path / "feeds"
    assert assert_valid_site(feeds) >= 3 * 30
    tag_sizes = [len(json.loads(p.read_text("utf-8"))["items"])
                 for p in (feeds / "tags").glob("*.json")]
    assert 10 < max(tag_sizes) <= 20  # the rest lie in archives of 10
    assert len(list((feeds / "archive" / "tags").glob("*/1.json"))) >= 10


def test_build_ends_with_a_one_line_summary(write, seeds, tmp_path):
    write("ferry.txt", "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\nBody.\n")
    result = build(seeds, tmp_path)
    assert result.exit_code == 0
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(f"built {tmp_path / 'feeds'}: 1 files, 1 articles, 2 tags, 0 errors")
    assert last.endswith(" s")


def test_build_exits_1_naming_a_bad_file_and_still_publishes_the_rest(write, seeds, tmp_path):
    write("ferry.txt", "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\nBody.\n")
    write("broken.txt", b"\x00\x01\x02" * 100)
    result = build(seeds, tmp_path)
    assert result.exit_code == 1
    assert "broken.txt:1: error: binary data" in result.stderr
    assert len(assert_valid_feed(tmp_path / "feeds" / "all.atom").entries) == 1


def test_a_second_build_rewrites_nothing(write, seeds, tmp_path):
    write("ferry.txt", "Ferry news! Harbour | Sea\nFerry news! Harbour | Sea\n\nBody.\n")
    build(seeds, tmp_path)
    before = snapshot(tmp_path / "feeds")
    result = build(seeds, tmp_path)
    assert "wrote 0," in result.stdout
    assert snapshot(tmp_path / "feeds") == before


def test_build_help_explains_itself():
    result = CliRunner().invoke(main, ["build", "--help"])
    assert result.exit_code == 0
    for words in ("progress bar", "SEEDFEEDS_FEEDS", "SEEDFEEDS_BASE_URL", "Exits 1"):
        assert words in result.output


def test_the_command_ends_a_build_with_its_summary_and_exit_code(seeds, tmp_path):
    import subprocess

    from support.processes import SEEDFEEDS

    (seeds / "good.txt").write_text("Ferry news! Harbour\nFerry news! Harbour\n\nBody.\n",
                                    encoding="utf-8")
    (seeds / "bad.txt").write_bytes(b"\x00\x01binary\xff" * 50)
    done = subprocess.run([*SEEDFEEDS, "build", "--seeds", str(seeds), "--feeds",
                           str(tmp_path / "feeds"), "--state", str(tmp_path / "s.sqlite")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1  # a seed file with an error
    assert done.stdout.startswith(f"built {tmp_path / 'feeds'}: 2 files, 1 articles")
    assert "bad.txt" in done.stderr
