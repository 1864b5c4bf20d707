"""/healthz's verdict: is the site this process serves whole?

Whole means the feeds folder can be read, its manifest parses as a site's manifest, and
the two files every site has (the index page and the all feed) are listed and on disk.
Monitors poll it often, so the verdict is kept until the manifest changes or a second
has passed: a few stat calls a second at most, however many ask.
"""

from __future__ import annotations

import os
import stat
import time

from service import layout
from service.web.folder import Folder

CHECK_EVERY = 1.0  # seconds a verdict is kept while the manifest stays the same
EVERY_SITE_HAS = (layout.INDEX, layout.feed_file(None, "atom"))


class Health:
    """The site's problem in one line, or None when it is whole."""

    def __init__(self, folder: Folder, every: float = CHECK_EVERY) -> None:
        self.folder, self.every = folder, every
        self._kept: tuple[int, float, str | None] = (-2, 0.0, None)  # generation, when, verdict

    def problem(self) -> str | None:
        generation, manifest = self.folder.manifest.current()
        now = time.monotonic()
        kept_generation, checked, verdict = self._kept
        if generation == kept_generation and now - checked < self.every:
            return verdict
        verdict = self._check(manifest)
        self._kept = (generation, now, verdict)  # one tuple: threads see old or new, whole
        return verdict

    def _check(self, manifest: object) -> str | None:
        if not self.folder.readable():
            return "the feeds folder is missing or unreadable"
        files = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(files, dict):
            return self._no_manifest()
        for path in EVERY_SITE_HAS:
            if path not in files or not self._on_disk(path):
                return f"{path} is missing from the published site"
        return None

    def _no_manifest(self) -> str:
        path = os.path.join(self.folder.root, layout.MANIFEST)
        if not os.path.lexists(path):
            return f"no site published yet: the manifest {layout.MANIFEST} is missing"
        if not os.access(path, os.R_OK):
            return f"the manifest {layout.MANIFEST} cannot be read"
        return f"the manifest {layout.MANIFEST} is not a site's manifest"

    def _on_disk(self, path: str) -> bool:
        try:
            return stat.S_ISREG(os.stat(os.path.join(self.folder.root, path)).st_mode)
        except OSError:
            return False
