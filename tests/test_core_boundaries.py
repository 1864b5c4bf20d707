"""The web side's boundaries: each library imported by one module, and a web that knows
nothing of seeds."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parent.parent / "service"
OWNERS = {"flask": "web.py", "werkzeug": "web.py", "prometheus_client": "metrics.py",
          "jinja2": "pages.py", "waitress": "server.py"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(("library", "owner"), OWNERS.items())
def test_each_web_library_is_imported_by_exactly_one_module(library: str, owner: str) -> None:
    importers = sorted(p.name for p in SERVICE.glob("*.py") if library in imported_roots(p))
    assert importers == [owner]


def test_the_web_app_loads_no_seed_reading_module() -> None:
    code = ("import sys, service.web, service.server; "
            "print(' '.join(m for m in sys.modules if m.startswith('service.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=SERVICE.parent).stdout.split()
    for module in ("seedfile", "seedfolder", "publisher", "catalog", "decoding", "render"):
        assert f"service.{module}" not in loaded
