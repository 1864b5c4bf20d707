"""The real `seedfeeds serve` over its own folders, and what a reader sees of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser

from support.processes import Server


class LiveServer(Server):
    """`seedfeeds serve` with its own seeds, feeds and state under ``root``, its log in
    ``root/serve.log``; ``options`` are added to its command line."""

    def __init__(self, root: Path, *options: str) -> None:
        self.root = root
        self.seeds, self.feeds = root / "seeds", root / "feeds"
        self.seeds.mkdir(parents=True, exist_ok=True)
        super().__init__("serve", "--seeds", str(self.seeds), "--feeds", str(self.feeds),
                         "--state", str(root / "state.sqlite"),
                         "--base-url", "http://news.test", *options, log=root / "serve.log")

    def body(self, path: str) -> bytes:
        """The body of the 200 answer to GET ``path`` (AssertionError on any other)."""
        reply = self.get(path)
        assert reply.status == 200, f"GET {path}: {reply.status}"
        return reply.body

    def feed(self, path: str) -> feedparser.FeedParserDict:
        """A feed as a reader parses it; a 404 reads as an empty feed."""
        reply = self.get(path)
        if reply.status == 404:
            return feedparser.parse(b"")
        assert reply.status == 200, f"GET {path}: {reply.status}"
        parsed = feedparser.parse(reply.body)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        return parsed

    def titles(self, path: str = "/all.atom") -> list[str]:
        return [entry.title for entry in self.feed(path).entries]

    def status(self) -> dict[str, Any]:
        """The publisher's status file (what /status serves)."""
        try:
            return json.loads((self.feeds / "status.json").read_bytes())
        except (OSError, ValueError):
            return {}
