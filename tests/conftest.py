"""Fixtures shared by the tests: seed files written into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
REAL_SEED = SHARED_SEEDS / "000_73324a814fad35fd.txt"


@pytest.fixture
def real_seed() -> Path:
    """The real seed file the format comes from; CI has it beside the project."""
    if not REAL_SEED.is_file():
        pytest.skip(f"the real seed file is not here: {REAL_SEED} (it lives in ../shared/seeds)")
    return REAL_SEED


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    return folder


@pytest.fixture
def write(seeds: Path) -> Callable[[str, str | bytes], Path]:
    """Write a seed file (text as UTF-8, or raw bytes) into the seeds folder."""
    def write_file(name: str, content: str | bytes) -> Path:
        path = seeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path
    return write_file


# --- the web side: one site built by `seedfeeds build`, served by one `seedfeeds web` ---

from collections.abc import Iterator  # noqa: E402  (appended below the lead's fixtures)

from support import webserver  # noqa: E402
from support.processes import Server  # noqa: E402


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> webserver.Built:
    """webserver.SEEDS built into a temporary feeds/ with links to the session's port."""
    return webserver.build_site(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def web(built_site: webserver.Built) -> Iterator[Server]:
    """`seedfeeds web` serving built_site for the whole session, with --max-age 123."""
    with webserver.running(built_site.feeds, built_site.port, "--base-url",
                           built_site.base_url, "--max-age", "123") as server:
        yield server
