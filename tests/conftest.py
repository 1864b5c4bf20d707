"""Fixtures shared by the tests: seed files written into a temporary folder, and an
S3-compatible store (one per test module) behind a proxy recording every request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

# Property tests check what comes out, not how fast: on a machine shared with other tests
# (`make test` runs them on every core) a deadline would fail them at random.
settings.register_profile("seedfeeds", deadline=None)
settings.load_profile("seedfeeds")

if TYPE_CHECKING:  # imported by the fixtures that need it: it loads boto3
    from support.seaweed import Recorder, Seaweed

SHARED_SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
REAL_SEED = SHARED_SEEDS / "000_73324a814fad35fd.txt"


@pytest.fixture(autouse=True)
def terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal 120 columns wide, for every command a test runs, whatever the terminal
    (or the test runner's worker) running the tests says: `check` fits its table to it."""
    monkeypatch.setenv("COLUMNS", "120")


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


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    """SeaweedFS on 127.0.0.1, started for the module that asks for it."""
    from support.seaweed import Seaweed

    seaweed = Seaweed(tmp_path_factory.mktemp("seaweed")).start()
    yield seaweed
    seaweed.stop()


@pytest.fixture(scope="module")
def recorder(store: Seaweed) -> Iterator[Recorder]:
    """A proxy in front of ``store`` that records what the publisher asks of it."""
    from support.seaweed import Recorder

    proxy = Recorder(store.s3)
    yield proxy
    proxy.close()
