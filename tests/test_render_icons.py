"""Every reader asks for an icon: the feeds name one (Atom icon and logo, RSS image, JSON
icon and favicon), the pages link one, and /favicon.ico is served, not a 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from support.liveserver import LiveServer

SITE = Path(__file__).parent / "data" / "site"  # the golden site, base URL http://news.test
ICON = "http://news.test/static/icon.png"
SEED = "Ferry returns to the harbour. Harbour | Transport\n\nIt is back.\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    running = LiveServer(tmp_path_factory.mktemp("icons"))
    (running.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    with running:
        yield running


def test_atom_names_the_icon_and_the_logo() -> None:
    feed = feedparser.parse((SITE / "all.atom").read_bytes()).feed
    assert (feed.icon, feed.logo) == (ICON, ICON)


def test_rss_names_the_icon_as_its_channel_image() -> None:
    image = feedparser.parse((SITE / "tags" / "culture.rss").read_bytes()).feed.image
    assert (image.href, image.title, image.link) == (ICON, "Culture · Fixture News",
                                                     "http://news.test/tags/culture/")


def test_json_feed_names_the_icon_and_the_favicon() -> None:
    feed = json.loads((SITE / "all.json").read_bytes())
    assert (feed["icon"], feed["favicon"]) == (ICON, ICON)


def test_every_page_links_the_favicon() -> None:
    for page in ("index.html", "tags/culture/index.html", "404.html"):
        assert '<link rel="icon" href="http://news.test/favicon.ico"' in (
            SITE / page).read_text("utf-8"), page


@pytest.mark.parametrize(("path", "kind", "magic"), [
    ("/favicon.ico", "image/x-icon", b"\x00\x00\x01\x00"),
    ("/static/icon.png", "image/png", b"\x89PNG\r\n\x1a\n"),
])
def test_the_icons_are_served(server: LiveServer, path: str, kind: str, magic: bytes) -> None:
    reply = server.get(path)
    assert (reply.status, reply.header("Content-Type")) == (200, kind)
    assert reply.body.startswith(magic)
    assert reply.header("Cache-Control") and reply.header("Content-Encoding") is None
