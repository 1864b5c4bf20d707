"""The topics the hub takes: the feeds this site publishes, by their public URL.

A topic is the URL of one feed as the feed itself names it (``rel="self"``), built
from ``--base-url`` exactly as the renderer builds it: ``/all.atom|rss|json`` and
``/tags/<slug>.atom|rss|json``, for the feeds the manifest (``feeds/index.json``)
lists now. Nothing else is a topic: no page, no archive, no other site's URL. The
manifest is read again only when the file changes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any

from service import layout

log = logging.getLogger(__name__)

_FEED_FILE = re.compile(r"(?:all|tags/([^/]+))\.(atom|rss|json)")


class Topics:
    """The feeds of the site in ``feeds``, published under ``base_url``."""

    def __init__(self, feeds: Path, base_url: str) -> None:
        self.base_url = base_url
        self._manifest = str(feeds / layout.MANIFEST)
        self._seen: tuple[int, int, int] | None = None
        self._files: dict[str, str] | None = None  # topic URL -> feed file
        self._lock = threading.Lock()

    def file_of(self, topic: str) -> str | None:
        """The feed file of ``topic`` (``tags/harbour.atom``), or None if ``topic`` is
        not a feed this site publishes now."""
        return (self._current() or {}).get(topic)

    def published(self) -> bool:
        """Whether the site has a manifest to take topics from."""
        return self._current() is not None

    def problem(self, topic: str) -> str | None:
        """Why ``topic`` is not taken, in one line (None: it is a feed of this site)."""
        files = self._current()
        if files is None:
            return "this site has published nothing yet: try again once it has"
        if topic in files:
            return None
        if not topic.startswith(self.base_url + "/"):
            return f"not a feed of this site (its feeds are under {self.base_url}/)"
        return (f"{topic} is not a feed this site publishes (its feeds are /all.atom, .rss, "
                ".json and /tags/<slug>.atom, .rss, .json)")

    def _current(self) -> dict[str, str] | None:
        try:
            info = os.stat(self._manifest)
        except OSError:
            return None
        seen = (info.st_mtime_ns, info.st_size, info.st_ino)
        with self._lock:
            if seen != self._seen:
                self._files = self._load()
                self._seen = seen
            return self._files

    def _load(self) -> dict[str, str] | None:
        try:
            with open(self._manifest, "rb") as stream:
                manifest: Any = json.load(stream)
            paths = manifest["files"]
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("the manifest %s cannot be read (%s): no topic is taken until it "
                        "can", self._manifest, exc)
            return None
        files = {}
        for path in paths:
            match = _FEED_FILE.fullmatch(path)
            if match:
                links = layout.feed_links(self.base_url, match[1])
                files[getattr(links, match[2])] = path
        return files
