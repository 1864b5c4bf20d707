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
import stat
import threading
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

from service import layout

log = logging.getLogger(__name__)

class Feed(NamedTuple):
    """A topic's feed as the manifest lists it."""

    file: str  # under feeds/: tags/harbour.atom
    sha256: str  # of its bytes: it changed when this did


class Topics:
    """The feeds of the site in ``feeds``, published under ``base_url``."""

    def __init__(self, feeds: Path, base_url: str) -> None:
        self.base_url = base_url
        self._manifest = str(feeds / layout.MANIFEST)
        self._seen: tuple[int, int, int] | None = None
        self._feeds: dict[str, Feed] | None = None  # by topic URL
        self._lock = threading.Lock()

    def file_of(self, topic: str) -> str | None:
        """The feed file of ``topic`` (``tags/harbour.atom``), or None if ``topic`` is
        not a feed this site publishes now."""
        feed = (self._current() or {}).get(topic)
        return None if feed is None else feed.file

    def feeds(self) -> dict[str, Feed] | None:
        """Every topic's feed now, by topic URL (None: no manifest can be read)."""
        return self._current()

    def published(self) -> bool:
        """Whether the site has a manifest to take topics from."""
        return self._current() is not None

    def problem(self, topic: str) -> str | None:
        """Why ``topic`` is not taken, in one line (None: it is a feed of this site)."""
        feeds = self._current()
        if feeds is None:
            return "this site has published nothing yet: try again once it has"
        if topic in feeds:
            return None
        if not topic.startswith(self.base_url + "/"):
            return f"not a feed of this site (its feeds are under {self.base_url}/)"
        return (f"{topic} is not a feed this site publishes (its feeds are /all.atom, .rss, "
                ".json and /tags/<slug>.atom, .rss, .json)")

    def arriving(self, topic: str) -> bool:
        """Whether ``topic`` names a feed written since the manifest was, which the
        manifest does not list yet: a pass is writing it, and the manifest comes last. A
        reader who found the feed in that moment is asked to come back, not told it does
        not exist. (A file older than the manifest is a leftover, not an arrival.)"""
        if not topic.startswith(self.base_url + "/"):
            return False
        path = unquote(topic[len(self.base_url) + 1:])
        if layout.feed_url_of(self.base_url, path) != topic:
            return False  # not the shape of a feed file: nothing on disk is looked at
        try:
            written = os.stat(os.path.join(os.path.dirname(self._manifest), path))
            listed = os.stat(self._manifest)
        except (OSError, ValueError):
            return False
        return stat.S_ISREG(written.st_mode) and written.st_mtime_ns >= listed.st_mtime_ns

    def _current(self) -> dict[str, Feed] | None:
        try:
            info = os.stat(self._manifest)
        except OSError:
            return None
        seen = (info.st_mtime_ns, info.st_size, info.st_ino)
        with self._lock:
            if seen != self._seen:
                self._feeds = self._load()
                self._seen = seen
            return self._feeds

    def _load(self) -> dict[str, Feed] | None:
        try:
            with open(self._manifest, "rb") as stream:
                manifest: Any = json.load(stream)
            paths = manifest["files"]
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("the manifest %s cannot be read (%s): no topic is taken until it "
                        "can", self._manifest, exc)
            return None
        feeds = {}
        try:
            for path, row in paths.items():
                url = layout.feed_url_of(self.base_url, path)
                if url is not None:
                    feeds[url] = Feed(path, str(row["sha256"]))
        except (AttributeError, TypeError, KeyError) as exc:
            log.warning("the manifest %s is not a site's manifest (%s): no topic is taken "
                        "until it is", self._manifest, exc)
            return None
        return feeds
