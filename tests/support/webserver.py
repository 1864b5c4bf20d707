"""The web side end to end: a site built by the real `seedfeeds build`, served by the real
`seedfeeds web`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from support.processes import SEEDFEEDS, Server, free_port

SECRET = b"TOP-SECRET-MARKER-7f3a"  # content of a file beside feeds/ that must never leak

# One tag per case the web must handle: plain, several words, non-ASCII letters.
SEEDS: dict[str, str] = {
    "harbour.txt": (
        "New ferry line opens at the old harbour Harbour | Transport\n"
        "New ferry line opens at the old harbour Harbour | Transport\n\n"
        "The ferry runs every ten minutes between the fish market and the island.\n\n"
        "Storm warning for the coast this weekend Weather | Harbour\n"
        "Release time:2026-03-02 08:00\n\n"
        "Gusts of up to 100 km/h are expected on Saturday night.\n"),
    "cafe.md": (
        "---\ntitle: A café opens in the old library\ntags: [Café Culture, 天气]\n"
        "date: 2026-03-01 10:00\n---\nThe reading room becomes a café with <b>tall</b> "
        "windows.\n"),
    "later.md": (
        "---\ntitle: Embargoed report\ntags: [Harbour]\ndate: 2099-01-01 00:00\n---\n"
        "Not before the next century.\n"),
    "broken.md": "---\ntitle: Broken date\ntags: [Harbour]\ndate: not a date at all\n---\nBody.\n",
}


@dataclass(frozen=True)
class Built:
    """A site built into ``root/feeds`` with its state and a secret beside it."""

    root: Path
    feeds: Path
    base_url: str
    port: int

    def manifest(self) -> dict[str, dict[str, object]]:
        return json.loads((self.feeds / "index.json").read_bytes())["files"]

    def status(self) -> dict[str, object]:
        return json.loads((self.feeds / "status.json").read_bytes())

    def article_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.feeds / "articles").glob("*.html"))


def build_site(root: Path, seeds: Mapping[str, str] = SEEDS, port: int | None = None) -> Built:
    """Write ``seeds`` and run `seedfeeds build` with links for http://127.0.0.1:<port>."""
    port = port or free_port()
    folder = root / "seeds"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in seeds.items():
        (folder / name).write_text(text, encoding="utf-8")
    (root / "secret.txt").write_bytes(SECRET)
    base_url = f"http://127.0.0.1:{port}"
    rebuild(root, base_url)
    return Built(root, root / "feeds", base_url, port)


def rebuild(root: Path, base_url: str) -> None:
    """One `seedfeeds build` pass over root/seeds (exit 1 just means a bad seed file)."""
    done = subprocess.run(
        [*SEEDFEEDS, "build", "--seeds", str(root / "seeds"), "--feeds", str(root / "feeds"),
         "--state", str(root / "state.sqlite"), "--base-url", base_url],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr


def running(feeds: Path, port: int | None = None, *options: str) -> Server:
    """`seedfeeds web` serving ``feeds``, for a `with` block; its log beside ``feeds``. A
    missing folder still counts as up: /healthz then answers 503."""
    port = port or free_port()
    return Server("web", "--feeds", str(feeds), *options, port=port,
                  log=feeds.parent / f"web-{port}.log", ready=(200, 503))
