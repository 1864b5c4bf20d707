"""The web side: a Flask app that serves the published feeds/ folder and nothing else.

The only module that imports Flask and Werkzeug. It holds no publisher state: every
answer comes from the files under feeds/, whose manifest gives each file's strong
ETag and date, so any number of these processes (or nginx, or a CDN) can serve the
folder one publisher writes.

Routes: the published files (``/``, ``/all.<format>``, ``/tags/<slug>.<format>``,
``/tags/<slug>/``, ``/articles/<id>``, ``/subscriptions.opml``, ``/static/style.css``)
and the operations routes ``/healthz``, ``/status`` and ``/metrics``. A URL maps to a
file only through ``routes.resolve``, and is served only if the file is published
(listed in the manifest, or a uuid-named article page that exists) and opens safely
(``feedsfolder``), so no request reaches a file the publisher did not write.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import http_date, parse_accept_header, parse_date

from service import layout
from service.catalog.released import site_of
from service.config import Settings
from service.model import Site
from service.render import pages
from service.web.folder import Folder, Opened
from service.web.metrics import Metrics
from service.web.routes import Target, resolve

log = logging.getLogger(__name__)

_TEXT = "; charset=utf-8"
CONTENT_TYPES = {
    ".atom": "application/atom+xml" + _TEXT,
    ".rss": "application/rss+xml" + _TEXT,
    ".json": "application/feed+json" + _TEXT,
    ".opml": "text/x-opml" + _TEXT,
    ".html": "text/html" + _TEXT,
    ".css": "text/css" + _TEXT,
}
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
EVERY_RESPONSE = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))
HTML_RESPONSE = (("Content-Security-Policy", CSP),)
ALLOWED_METHODS = ("GET", "HEAD")

NOT_FOUND_SHOWN = 200  # characters of a missing path echoed on the 404 page

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# --- serving files -----------------------------------------------------------

@dataclass(frozen=True)
class Ready:
    """The answer for one published file, built once: validators, headers and bytes."""

    etag: str
    modified: datetime
    not_modified: list[tuple[str, str]]  # the headers of a 304
    headers: list[tuple[str, str]]  # the headers of a 200
    body: bytes

    def answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        if _fresh(environ, self.etag, self.modified):
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
                 max_age: int) -> None:
        self.flask_app, self.folder, self.meter = flask_app, folder, meter
        self.cache_control = ("Cache-Control", f"public, max-age={max_age}")
        self.cache = ReadyCache()

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        target = (resolve(_decoded_path(environ))
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
        if target.route == "article":
            ready = self._ready(self.folder.open_article(target.path))
            return None if ready is None else ready.answer(environ)
        generation, files = self.folder.files()
        if target.route == "tag_redirect":
            return self._redirect(target) if target.path in files else None
        key = (target.path, _takes_gzip(environ.get("HTTP_ACCEPT_ENCODING")))
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
            ("Content-Type", "text/plain" + _TEXT), ("Content-Length", "0")], b""

    def _ready(self, opened: Opened | None) -> Ready | None:
        """The answer for an opened file (which this closes)."""
        if opened is None:
            return None
        try:
            body = opened.read()
        finally:
            opened.close()
        validators = [("ETag", opened.etag), ("Last-Modified", http_date(opened.modified)),
                      self.cache_control]
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


def _decoded_path(environ: dict[str, Any]) -> str:
    """PATH_INFO as text: WSGI carries it as latin-1 of the URL's UTF-8 bytes."""
    try:
        return environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        return ""  # not a published address; Flask answers 404


@lru_cache(maxsize=512)
def _takes_gzip(accept_encoding: str | None) -> bool:
    """Accept-Encoding allows gzip; an explicit q=0 refuses it, also against ``*``."""
    return bool(accept_encoding) and parse_accept_header(accept_encoding)["gzip"] > 0


def _fresh(environ: dict[str, Any], etag: str, modified: datetime) -> bool:
    """The client's copy is current: If-None-Match decides when sent (weak comparison,
    RFC 9110), else If-Modified-Since."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        return _etag_matches(if_none_match, etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and modified <= since


@lru_cache(maxsize=1024)
def _etag_matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


# --- the app -----------------------------------------------------------------

def create_app(settings: Settings) -> Flask:
    """A Flask app serving ``settings.feeds``; it starts nothing and reads no file until
    a request comes."""
    app = Flask(__name__, static_folder=None)
    app.url_map.merge_slashes = False  # "//healthz" is not an address of ours
    folder = Folder(settings.feeds)
    web = _Operations(folder, site_of(settings), Metrics(folder.status.get))
    for rule, view in (("/healthz", web.healthz), ("/status", web.status),
                       ("/metrics", web.metrics)):
        app.add_url_rule(rule, view.__name__, view, methods=["GET"],
                         provide_automatic_options=False)
    app.before_request(_only_read_methods)
    app.register_error_handler(HTTPException, web.refuse)
    app.after_request(web.finish)
    app.wsgi_app = PublishedFiles(app.wsgi_app, folder, web.meter,  # type: ignore[method-assign]
                                  settings.max_age)
    return app


def _only_read_methods() -> None:
    """A published site is read-only: PUT, DELETE, TRACE, OPTIONS... get 405."""
    if request.method not in ALLOWED_METHODS:
        raise MethodNotAllowed(valid_methods=list(ALLOWED_METHODS))


class _Operations:
    """The Flask views: health, status, metrics, and the pages of refusal."""

    def __init__(self, folder: Folder, site: Site, meter: Metrics) -> None:
        self.folder, self.site, self.meter = folder, site, meter

    def healthz(self) -> Response:
        """Liveness: the process answers and can read the feeds folder."""
        if self.folder.readable():
            return _text("ok\n", 200)
        return _text("feeds folder is not readable\n", 503)

    def status(self) -> Response:
        """The last publish pass as JSON (the default) or as an HTML page for browsers."""
        wanted = _status_format()
        if wanted is None:
            return _text("format must be json or html\n", 400)
        raw = self.folder.status.get()
        if not isinstance(raw, dict):
            response = self._no_status(wanted)
        elif wanted == "json":
            response = _json(status_summary(raw), 200)
        else:
            response = Response(pages.render_status_page(self.site, status_summary(raw)),
                                content_type=CONTENT_TYPES[".html"])
        response.headers["Vary"] = "Accept"
        response.headers["Cache-Control"] = "no-cache"
        return response

    def _no_status(self, wanted: str) -> Response:
        message = ("no publish pass has finished yet: feeds/status.json is missing or "
                   "unreadable; run `seedfeeds publish` (or `seedfeeds serve`) on this folder")
        response = _json({"error": message}, 503) if wanted == "json" else _text(
            message + "\n", 503)
        response.headers["Retry-After"] = "30"
        return response

    def metrics(self) -> Response:
        body, content_type = self.meter.exposition()
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

    def not_found(self) -> Response:
        """The helpful 404 page, naming the (escaped, shortened) path that was asked for."""
        shown = request.path
        if len(shown) > NOT_FOUND_SHOWN:
            shown = shown[:NOT_FOUND_SHOWN] + "…"
        response = Response(pages.render_not_found(self.site, shown), status=404,
                            content_type=CONTENT_TYPES[".html"])
        response.headers["Cache-Control"] = "no-cache"
        return response

    def refuse(self, error: HTTPException) -> Response:
        """404 gets the page; other refusals (405, 400) a short text and their headers."""
        if error.code == 404:
            return self.not_found()
        response = error.get_response()
        response.set_data(f"{error.code} {error.name}\n")
        response.content_type = "text/plain" + _TEXT
        return response

    def finish(self, response: Response) -> Response:
        """Security headers on every response; count it by route and status."""
        response.headers.update(EVERY_RESPONSE)
        if response.mimetype == "text/html":
            response.headers.update(HTML_RESPONSE)
        rule = request.url_rule
        self.meter.count(rule.endpoint if rule is not None else "unmatched",
                         response.status_code)
        return response


def status_summary(raw: dict[str, Any]) -> dict[str, Any]:
    """/status: counts, errors with path and line, and the last publish, from status.json."""
    last = raw.get("last_pass") if isinstance(raw.get("last_pass"), dict) else {}
    history = raw.get("history") if isinstance(raw.get("history"), list) else []
    return {
        **{key: last.get(key) for key in ("files", "articles", "tags", "embargoed")},
        "errors": _problems(raw.get("errors")),
        "warnings": _problems(raw.get("warnings")),
        "last_publish": {key: last.get(key) for key in (
            "started", "seconds", "cold", "files_read", "articles_changed", "files_written",
            "files_removed")},
        "next_release": last.get("next_release"),
        "history": [row for row in history if isinstance(row, dict)],
    }


def _problems(rows: object) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        return []
    return [{key: row.get(key) for key in ("path", "line", "severity", "message")}
            for row in rows if isinstance(row, dict)]


def _status_format() -> str | None:
    """json or html: ?format= wins, else Accept; JSON unless the client prefers HTML."""
    asked = request.args.get("format")
    if asked is not None:
        return asked if asked in ("json", "html") else None
    best = request.accept_mimetypes.best_match(["application/json", "text/html"],
                                               default="application/json")
    return "html" if best == "text/html" else "json"


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, content_type="text/plain" + _TEXT,
                    headers={"Cache-Control": "no-store"})


def _json(data: object, status: int) -> Response:
    body = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return Response(body, status=status, content_type="application/json" + _TEXT)
