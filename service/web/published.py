"""The published files over WSGI: GET and HEAD of what the manifest lists, answered
from memory with strong ETags, conditional GET and precompressed gzip.

Everything else (the operations routes, every refusal) goes on to the Flask app. A URL
maps to a file only through ``routes.resolve``, and is served only if the file is
published (listed in the manifest, or an article page or archive that exists) and opens
safely (``folder``), so no request reaches a file the publisher did not write.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from service import layout
from service.model import Site
from service.web.folder import Folder, Opened
from service.web.http import (
    ALLOWED_METHODS,
    CONTENT_TYPES,
    EVERY_RESPONSE,
    HTML_RESPONSE,
    TEXT,
    decoded_path,
    fresh,
    http_date,
    takes_gzip,
)
from service.web.metrics import Metrics
from service.web.routes import Target, resolve

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
IMMUTABLE = ("Cache-Control", layout.IMMUTABLE)  # a frozen archive's, whatever --max-age


@dataclass(frozen=True)
class Ready:
    """The answer for one published file, built once: validators, headers and bytes."""

    etag: str
    modified: datetime
    not_modified: list[tuple[str, str]]  # the headers of a 304
    headers: list[tuple[str, str]]  # the headers of a 200
    body: bytes

    def answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        if fresh(environ, self.etag, self.modified):
            return "304 Not Modified", self.not_modified, b""
        return "200 OK", self.headers, b"" if environ["REQUEST_METHOD"] == "HEAD" else self.body


class ReadyCache:
    """Answers for manifest-listed files, kept while the manifest they were built under is
    current (the publisher rewrites the manifest whenever a listed file changes); least
    recently used ones go first past ``max_bytes``."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._generation = 0
        self._ready: OrderedDict[tuple[str, bool], Ready] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, generation: int, key: tuple[str, bool]) -> Ready | None:
        with self._lock:
            if generation != self._generation:
                return None
            ready = self._ready.get(key)
            if ready is not None:
                self._ready.move_to_end(key)
            return ready

    def put(self, generation: int, key: tuple[str, bool], ready: Ready) -> None:
        size = len(ready.body)
        with self._lock:
            if generation > self._generation:  # a new manifest: everything else is stale
                self._generation, self._ready, self._bytes = generation, OrderedDict(), 0
            if generation != self._generation or size > self.max_bytes // 8:
                return  # built under an older manifest by a slow thread, or too big
            old = self._ready.pop(key, None)
            self._bytes += size - (len(old.body) if old else 0)
            self._ready[key] = ready
            while self._bytes > self.max_bytes:
                self._bytes -= len(self._ready.popitem(last=False)[1].body)


class PublishedFiles:
    """WSGI layer that answers GET and HEAD of published files; everything else (the
    operations routes, every refusal) goes on to the Flask app.

    It works on the WSGI environ directly, from answers built once per manifest: Flask's
    request machinery and a file's syscalls would cost more than the rest of serving a
    feed, and feeds are what readers poll all day."""

    def __init__(self, flask_app: WSGIApp, folder: Folder, meter: Metrics,
                 max_age: int, site: Site) -> None:
        self.flask_app, self.folder, self.meter, self.site = flask_app, folder, meter, site
        self.cache_control = ("Cache-Control", f"public, max-age={max_age}")
        self.cache = ReadyCache()

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        target = (resolve(decoded_path(environ))
                  if environ.get("REQUEST_METHOD") in ALLOWED_METHODS else None)
        answer = None if target is None else self._answer(target, environ)
        if target is None or answer is None:
            return self.flask_app(environ, start_response)
        status, headers, body = answer
        self.meter.count(target.route, int(status[:3]))
        start_response(status, [*headers, *EVERY_RESPONSE])
        return [body]

    def _answer(self, target: Target, environ: dict[str, Any]
                ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """Status, headers and body for a published file; None if it is not published."""
        if layout.unlisted(target.path):  # an article page or an archive: if it exists
            ready = self._ready(self.folder.open_unlisted(target.path))
            return None if ready is None else ready.answer(environ)
        generation, files = self.folder.files()
        if target.route == "tag_redirect":
            return self._redirect(target) if target.path in files else None
        key = (target.path, takes_gzip(environ.get("HTTP_ACCEPT_ENCODING")))
        ready = self.cache.get(generation, key)
        if ready is None:
            ready = self._ready(self.folder.open_listed(files, *key))
            if ready is None:
                return None
            self.cache.put(generation, key, ready)
        return ready.answer(environ)

    def _redirect(self, target: Target) -> tuple[str, list[tuple[str, str]], bytes]:
        slug = target.path.split("/")[1]
        return "301 Moved Permanently", [
            ("Location", f"/tags/{quote(slug, safe='')}/"), self.cache_control,
            ("Content-Type", "text/plain" + TEXT), ("Content-Length", "0")], b""

    def _ready(self, opened: Opened | None) -> Ready | None:
        """The answer for an opened file (which this closes)."""
        if opened is None:
            return None
        try:
            body = opened.read()
        finally:
            opened.close()
        validators = [("ETag", opened.etag), ("Last-Modified", http_date(opened.modified)),
                      IMMUTABLE if layout.immutable(opened.name) else self.cache_control]
        # A feed names its hubs and itself (WebSub discovery); an archive is no topic.
        self_url = layout.feed_url_of(self.site.base_url, opened.name)
        if self_url is not None:
            validators.append(("Link", layout.link_header(self.site.hubs, self_url)))
        if layout.compressed(opened.name):  # a .gz sibling exists: caches must key on it
            validators.append(("Vary", "Accept-Encoding"))
        content_type = CONTENT_TYPES[os.path.splitext(opened.name)[1]]
        headers = [*validators, ("Content-Type", content_type),
                   ("Content-Length", str(len(body)))]
        if opened.gzipped:
            headers.append(("Content-Encoding", "gzip"))
        if content_type.startswith("text/html"):
            headers.extend(HTML_RESPONSE)
        return Ready(opened.etag, opened.modified, validators, headers, body)
