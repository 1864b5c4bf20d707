"""What the bucket should hold: the served files of feeds/ as one pass left them.

A snapshot names every file the web serves: the manifest's files with their sha256,
and the pages: article pages and archives (``layout.unlisted``: not in the manifest,
100,000 rows would make it huge), with the pages that may have changed since the last
snapshot. In ``publish``, ``serve`` and
``build`` it is taken from the publisher right after each pass that succeeded, in the
publisher's thread (a copy, so the next pass cannot change it under the mirror); the
pages it wrote come from the pass itself. ``seedfeeds sync`` reads it from the folder,
and a snapshot that cannot say which pages changed (a cold pass, a pass after a failure,
``sync``) has every page read and compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import dataclass
from pathlib import Path

from service import layout
from service.mirror.objects import served
from service.publish.writer import Record, unlisted_files


@dataclass(frozen=True)
class Snapshot:
    """The served files of one pass: ``files`` (path -> sha256) and ``pages``; ``check``
    holds the pages to read again, None for every page."""

    files: Mapping[str, str]
    pages: frozenset[str]
    check: frozenset[str] | None

    def paths(self) -> set[str]:
        return {*self.files, *self.pages}

    def then(self, newer: Snapshot) -> Snapshot:
        """This snapshot followed by ``newer``, not yet mirrored: the newer files, and
        every page either may have changed."""
        check = (None if self.check is None or newer.check is None
                 else self.check | newer.check)
        return Snapshot(newer.files, newer.pages, check)


class NoSite(Exception):
    """The feeds folder holds no published site to mirror."""


def from_publisher(manifest: Mapping[str, Record], pages: Set[str], written: Set[str],
                   cold: bool) -> Snapshot:
    """A snapshot of what a pass left, from its writer's own record (``manifest``) and
    the pages it knows and ``written`` this pass."""
    files = {path: row.sha256 for path, row in manifest.items() if served(path)}
    return Snapshot(files, frozenset(pages), None if cold else frozenset(written))


def from_folder(feeds: Path) -> Snapshot:
    """A snapshot read from the folder: its manifest, its article pages and its archives,
    all to be read."""
    try:
        rows = json.loads((feeds / layout.MANIFEST).read_bytes())["files"]
        files = {path: str(row["sha256"]) for path, row in rows.items() if served(path)}
    except FileNotFoundError:
        raise NoSite(f"{feeds} holds no published site ({layout.MANIFEST} is missing): "
                     "build it first") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise NoSite(f"{feeds / layout.MANIFEST} is unreadable ({exc}): build again") from None
    pages = frozenset(path for path in unlisted_files(feeds) if served(path))
    return Snapshot(files, pages, None)
