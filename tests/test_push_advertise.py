"""Every feed names its hub and itself (WebSub section 4), so readers subscribe with
nothing to configure: the HTTP Link header on every answer for a feed, atom:link
rel="hub" in Atom and RSS, "hubs" in JSON Feed; the self URL byte-identical in the
header and the document, as FreshRSS and Feedbin compare it exactly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from support.liveserver import LiveServer

BASE = "http://news.test"
SEED = "Ferry returns to the harbour. Harbour | Transport\n\nIt is back.\n"
FEEDS = ("/all.atom", "/all.rss", "/all.json", "/tags/harbour.atom", "/tags/harbour.rss",
         "/tags/harbour.json", "/tags/transport.atom")
LINK = re.compile(r'<([^>]*)>; rel="([^"]*)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("advertise")
    running = LiveServer(root)
    (running.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
    with running:
        yield running


def links(header: str | None) -> list[tuple[str, str]]:
    """(rel, url) of each link in a Link header, in order."""
    assert header is not None, "no Link header"
    return [(rel, url) for url, rel in LINK.findall(header)]


def document_links(body: bytes, path: str) -> list[tuple[str, str]]:
    """(rel, url) of the hub and self links a reader finds in the feed document."""
    if path.endswith(".json"):
        feed = json.loads(body)
        return ([("hub", hub["url"]) for hub in feed.get("hubs", [])]
                + [("self", feed["feed_url"])])
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return [(link.rel, link.href) for link in parsed.feed.links if link.rel in ("hub", "self")]


@pytest.mark.parametrize("path", FEEDS)
def test_a_feed_names_the_hub_and_itself_in_its_link_header(server: LiveServer,
                                                           path: str) -> None:
    reply = server.get(path)
    assert reply.status == 200
    assert links(reply.header("Link")) == [("hub", f"{BASE}/websub"), ("self", BASE + path)]


@pytest.mark.parametrize("path", FEEDS)
def test_the_document_names_the_same_hub_and_self_as_the_header(server: LiveServer,
                                                                path: str) -> None:
    reply = server.get(path)
    assert sorted(document_links(reply.body, path)) == sorted(links(reply.header("Link")))


def test_rss_carries_the_hub_as_an_atom_link_after_its_self_link(server: LiveServer) -> None:
    body = server.body("/tags/harbour.rss").decode()
    self_at = body.index(f'<atom:link href="{BASE}/tags/harbour.rss" rel="self"')
    assert body.index(f'<atom:link href="{BASE}/websub" rel="hub"/>') > self_at


def test_json_feed_lists_the_hub_as_websub(server: LiveServer) -> None:
    feed = json.loads(server.body("/tags/harbour.json"))
    assert feed["hubs"] == [{"type": "WebSub", "url": f"{BASE}/websub"}]


@pytest.mark.parametrize("headers", [{"Accept-Encoding": "gzip"}, {}],
                         ids=["gzip", "identity"])
def test_a_not_modified_answer_and_a_head_carry_the_link_too(server: LiveServer,
                                                            headers: dict[str, str]) -> None:
    first = server.get("/tags/harbour.atom", headers)
    again = server.get("/tags/harbour.atom", {**headers, "If-None-Match": first.header("ETag")})
    head = server.get("/tags/harbour.atom", headers, method="HEAD")
    assert again.status == 304
    assert again.header("Link") == head.header("Link") == first.header("Link")


def test_pages_and_the_opml_carry_no_hub_link(server: LiveServer) -> None:
    for path in ("/", "/tags/harbour/", "/subscriptions.opml"):
        reply = server.get(path)
        assert reply.status == 200, path
        assert reply.header("Link") is None, path


def build(root: Path, *options: str) -> Path:
    """`seedfeeds build` of one seed with ``options``; its feeds folder."""
    (root / "seeds").mkdir()
    (root / "seeds" / "harbour.txt").write_text(SEED, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "service", "build", "--seeds", str(root / "seeds"),
                    "--feeds", str(root / "feeds"), "--state", str(root / "state.sqlite"),
                    "--base-url", BASE, *options], check=True, capture_output=True)
    return root / "feeds"


def test_a_public_hub_url_and_external_hubs_are_named_in_that_order(tmp_path: Path) -> None:
    feeds = build(tmp_path, "--websub-url", "https://cdn.example.org/websub",
                  "--websub-external-hubs", "https://hub.example.net/, https://push.example.com/")
    hubs = ["https://cdn.example.org/websub", "https://hub.example.net/",
            "https://push.example.com/"]
    for name in ("tags/harbour.atom", "tags/harbour.rss", "tags/harbour.json"):
        found = document_links((feeds / name).read_bytes(), name)
        assert [url for rel, url in found if rel == "hub"] == hubs, name


def test_without_the_own_hub_only_the_external_ones_are_named(tmp_path: Path) -> None:
    feeds = build(tmp_path, "--websub", "false", "--websub-external-hubs",
                  "https://hub.example.net/")
    for name in ("all.atom", "all.rss", "all.json"):
        found = document_links((feeds / name).read_bytes(), name)
        assert found.count(("hub", "https://hub.example.net/")) == 1, name
        assert [rel for rel, _url in found].count("hub") == 1, name


def test_without_any_hub_a_feed_names_none(tmp_path: Path) -> None:
    feeds = build(tmp_path, "--websub", "false")
    for name in ("all.atom", "all.rss", "all.json"):
        assert [rel for rel, _url in document_links((feeds / name).read_bytes(), name)] == [
            "self"], name
