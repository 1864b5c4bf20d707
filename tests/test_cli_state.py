"""`seedfeeds build` refuses a --state of the wrong kind at start-up: one line naming the
setting, exit 2, and the target exactly as it was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support.processes import SEEDFEEDS

SEED = "The ferry is back! Transport | Harbour\nThe ferry is back! Transport | Harbour\n\nBody.\n"


def text_file(tmp_path: Path) -> Path:
    notes = tmp_path / "notes.txt"
    notes.write_text("Remember to renew the certificate.\n", encoding="utf-8")
    return notes


def feeds_folder(tmp_path: Path) -> Path:
    return tmp_path / "feeds"


def fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe")
    return tmp_path / "pipe"


def in_seeds(tmp_path: Path) -> Path:
    return tmp_path / "seeds" / "state.sqlite"


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("target", [text_file, feeds_folder, fifo, in_seeds],
                         ids=lambda make: make.__name__)
def test_build_refuses_a_state_of_the_wrong_kind_in_one_line(tmp_path, target):
    seeds, feeds = tmp_path / "seeds", tmp_path / "feeds"
    seeds.mkdir()
    feeds.mkdir()
    (seeds / "ferry.txt").write_text(SEED, encoding="utf-8")
    state = target(tmp_path)
    before = listing(tmp_path), state.read_bytes() if state.is_file() else None
    built = subprocess.run([*SEEDFEEDS, "build", "--seeds", str(seeds), "--feeds", str(feeds),
                            "--state", str(state)], capture_output=True, text=True, timeout=60)
    lines = built.stderr.strip().splitlines()
    assert built.returncode == 2, built.stderr
    assert len(lines) == 1 and "--state" in lines[0] and "SEEDFEEDS_STATE" in lines[0], lines
    assert (listing(tmp_path), state.read_bytes() if state.is_file() else None) == before
