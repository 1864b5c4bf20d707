"""Every fixture seed file in tests/data/seeds/ reads as its expected file says (DESIGN 1).

Beside each fixture FILE lies FILE.json: the exit code, the problems printed on
standard error and the articles printed on standard output by
``seedfeeds check --json --timezone Asia/Shanghai FILE`` run in that folder. A
``note`` in it explains an expectation that may surprise, and is not compared.

``make golden`` rewrites the .json files from what the reader does now, so that a
change of behaviour is reviewed as a diff; the tests never write them.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "data" / "seeds"
TIMEZONE = "Asia/Shanghai"  # not UTC, so that a naive time shows which zone it was read in
EXPECTED = ".json"


def fixtures() -> list[Path]:
    """The fixture seed files, in name order: every file but the expected outputs and
    dotfiles (.gitattributes keeps git from changing the fixtures' line ends)."""
    return sorted(p for p in FIXTURES.iterdir()
                  if p.is_file() and p.suffix != EXPECTED and not p.name.startswith("."))


def expected_path(fixture: Path) -> Path:
    return fixture.with_name(fixture.name + EXPECTED)


def check(fixture: Path) -> dict[str, object]:
    """What ``seedfeeds check --json`` does with the fixture, as its expected file holds it."""
    with contextlib.chdir(fixture.parent):  # so that messages name the file, not a path
        result = CliRunner().invoke(main, ["check", "--json", "--timezone", TIMEZONE,
                                           "--max-file-size", "10MiB", fixture.name])
    return {"exit_code": result.exit_code, "stderr": result.stderr.splitlines(),
            "stdout": json.loads(result.stdout)}


@pytest.mark.parametrize("fixture", fixtures(), ids=lambda path: path.name)
def test_a_fixture_reads_as_its_expected_file_says(fixture: Path):
    expected = json.loads(expected_path(fixture).read_text("utf-8"))
    expected.pop("note", None)
    assert check(fixture) == expected


def test_every_expected_file_belongs_to_a_fixture():
    orphans = [p.name for p in FIXTURES.glob(f"*{EXPECTED}")
               if not p.with_name(p.name.removesuffix(EXPECTED)).is_file()]
    assert orphans == []


def regenerate() -> None:
    """Rewrite every fixture's expected file from the current output, keeping its note."""
    for fixture in fixtures():
        path = expected_path(fixture)
        old = json.loads(path.read_text("utf-8")) if path.is_file() else {}
        new = ({"note": old["note"]} if "note" in old else {}) | check(fixture)
        path.write_text(json.dumps(new, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":  # make golden
    regenerate()
