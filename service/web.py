"""The web side: a Flask app that serves the published feeds/ folder and nothing else.

The only module that imports Flask and Werkzeug. It holds no publisher state: every
answer comes from the files under feeds/, whose manifest gives each file's strong
ETag and date, so any number of these processes (or nginx, or a CDN) can serve the
folder one publisher writes. A URL maps to a file only through ``layout`` and only if
the file is published (listed in the manifest, or a uuid-named article page), so no
request can reach a file the publisher did not write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import stat
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date, is_resource_modified

from . import layout, pages
from .config import Settings
from .metrics import Metrics
from .sitemodel import Site
from .views import site_of

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
HTML_HEADERS = {"Content-Security-Policy": CSP}
EVERY_RESPONSE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

# Article ids are uuid5 strings, lowercase: anything else is refused before any file access.
ARTICLE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOT_FOUND_SHOWN = 200  # characters of a missing path echoed on the 404 page
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NONBLOCK", 0))  # NONBLOCK: a planted FIFO must not hang us


class JsonFile:
    """A JSON file parsed again only when its (mtime_ns, size, inode) changes."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._cached: tuple[tuple[int, int, int] | None, Any] = (None, None)
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The parsed content, or None if the file is missing or not valid JSON."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        if _key(info) != self._cached[0]:
            with self._lock:  # one thread parses; the others wait for its result
                if _key(info) != self._cached[0]:
                    self._cached = self._load()
        return self._cached[1]

    def _load(self) -> tuple[tuple[int, int, int] | None, Any]:
        # Key and bytes from the same open file, so a rename between stat and read
        # caches the new content under the new key.
        try:
            with open(self.path, "rb") as stream:
                key, data = _key(os.fstat(stream.fileno())), stream.read()
        except OSError:
            return None, None
        try:
            return key, json.loads(data)
        except ValueError as exc:
            log.warning("%s is not valid JSON (%s); treated as missing", self.path, exc)
            return key, None


def _key(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_mtime_ns, info.st_size, info.st_ino


class Hashes:
    """sha256 of files the manifest does not list (article pages), by identity of the file."""

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._known: OrderedDict[tuple[str, int, int, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int, int]) -> str | None:
        with self._lock:
            digest = self._known.get(key)
            if digest is not None:
                self._known.move_to_end(key)
            return digest

    def put(self, key: tuple[str, int, int, int], digest: str) -> None:
        with self._lock:
            self._known[key] = digest
            if len(self._known) > self._size:
                self._known.popitem(last=False)


class Opened:
    """An open published file with its validators; ``read`` at most once, ``close`` always."""

    def __init__(self, path: str, fd: int, info: os.stat_result, encoding: str | None) -> None:
        self.path, self.fd, self.size, self.encoding = path, fd, info.st_size, encoding
        self.etag = ""
        self.last_modified = datetime.fromtimestamp(info.st_mtime, UTC)
        self._data: bytes | None = None

    def read(self) -> bytes:
        if self._data is None:
            chunks, left = [], self.size
            while left > 0:  # a file may shrink under us: stop at its end
                chunk = os.read(self.fd, left)
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            self._data = b"".join(chunks)
        return self._data

    @property
    def name(self) -> str:
        """The file asked for: the path without the .gz of a compressed sibling."""
        return self.path.removesuffix(".gz") if self.encoding else self.path

    def close(self) -> None:
        os.close(self.fd)


class Folder:
    """The published feeds/ folder as the web sees it: manifest, status, files."""

    def __init__(self, root: Path) -> None:
        self.root = str(root)
        self.manifest = JsonFile(root / layout.MANIFEST)
        self.status = JsonFile(root / layout.STATUS)
        self.hashes = Hashes()

    def files(self) -> dict[str, Any]:
        """The manifest's rows by path; empty before the first publish."""
        manifest = self.manifest.get()
        files = manifest.get("files") if isinstance(manifest, dict) else None
        return files if isinstance(files, dict) else {}

    def listed(self, path: str) -> bool:
        return path in self.files()

    def readable(self) -> bool:
        return os.path.isdir(self.root) and os.access(self.root, os.R_OK | os.X_OK)

    def published(self, path: str, gzip_ok: bool) -> Opened | None:
        """A manifest-listed file, as its .gz sibling if the client takes gzip and one exists."""
        files = self.files()
        if path not in files:
            return None
        if gzip_ok and f"{path}.gz" in files:
            opened = self._open(f"{path}.gz", "gzip", files[f"{path}.gz"])
            if opened is not None:
                return opened
        return self._open(path, None, files[path])

    def article(self, article_id: str) -> Opened | None:
        """An article page (not in the manifest): a uuid-named file that exists."""
        if not ARTICLE_ID.fullmatch(article_id):
            return None
        return self._open(layout.article_file(article_id), None, None)

    def _open(self, path: str, encoding: str | None, row: Any) -> Opened | None:
        found = self._open_regular(path)
        if found is None:
            return None
        opened = Opened(path, *found, encoding)
        try:
            self._validate(opened, row)
        except BaseException:
            opened.close()
            raise
        return opened

    def _validate(self, opened: Opened, row: Any) -> None:
        """ETag and date from the manifest row; hashed here if there is none, or if
        the file's size shows the row is stale (a publish pass is writing)."""
        if isinstance(row, dict) and row.get("size") == opened.size:
            try:
                opened.etag = f'"{row["sha256"]}"'
                opened.last_modified = datetime.fromisoformat(row["updated"])
                return
            except (KeyError, TypeError, ValueError):
                pass
        info = os.fstat(opened.fd)
        key = (opened.path, info.st_ino, info.st_mtime_ns, info.st_size)
        digest = self.hashes.get(key)
        if digest is None:
            digest = hashlib.sha256(opened.read()).hexdigest()
            self.hashes.put(key, digest)
        opened.etag = f'"{digest}"'

    def _open_regular(self, path: str) -> tuple[int, os.stat_result] | None:
        """An fd of a regular file under the root reached through no symlink, or None."""
        here = self.root
        for part in path.split("/")[:-1]:
            here = os.path.join(here, part)
            try:
                if not stat.S_ISDIR(os.lstat(here).st_mode):
                    return None  # a symlinked folder could lead anywhere
            except OSError:
                return None
        try:
            fd = os.open(os.path.join(self.root, path), _OPEN_FLAGS)
        except OSError:  # missing, unreadable, or a symlink (ELOOP)
            return None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return None
        return fd, info


def create_app(settings: Settings) -> Flask:
    """A Flask app serving ``settings.feeds``; it starts nothing and reads no file until
    a request comes."""
    app = Flask(__name__, static_folder=None)
    app.url_map.merge_slashes = False  # "//all.atom" is not a published address
    web = _Web(settings, Folder(settings.feeds), site_of(settings))
    app.extensions["seedfeeds"] = web
    for rule, endpoint in ROUTES:
        app.add_url_rule(rule, endpoint, getattr(web, endpoint), methods=["GET"],
                         provide_automatic_options=False)
    app.register_error_handler(HTTPException, web.refuse)
    app.after_request(web.finish)
    return app


# (URL rule, method of _Web): the whole public surface of the site.
ROUTES = (
    ("/", "index"),
    ("/all.<fmt>", "all_feed"),
    ("/tags/<name>", "tag_feed"),
    ("/tags/<slug>/", "tag_page"),
    ("/articles/<article_id>", "article"),
    ("/subscriptions.opml", "opml"),
    ("/static/style.css", "stylesheet"),
    ("/healthz", "healthz"),
    ("/status", "status"),
    ("/metrics", "metrics"),
)


class _Web:
    """The views of one app; holds only the settings and caches of what it read."""

    def __init__(self, settings: Settings, folder: Folder, site: Site) -> None:
        self.settings, self.folder, self.site = settings, folder, site
        self.prometheus = Metrics(folder.status.get)
        self.cache_control = f"public, max-age={settings.max_age}"

    # --- published files -----------------------------------------------------

    def index(self) -> Response:
        return self._file(layout.INDEX)

    def all_feed(self, fmt: str) -> Response:
        return self._file(layout.feed_file(None, fmt) if fmt in layout.FORMATS else None)

    def tag_feed(self, name: str) -> Response:
        """``<slug>.<format>`` is a feed; a bare ``<slug>`` redirects to its page."""
        slug, dot, fmt = name.rpartition(".")
        if dot and fmt in layout.FORMATS:
            return self._file(layout.feed_file(slug, fmt))
        if self.folder.listed(layout.tag_page_file(name)):
            return self._redirect(f"/tags/{quote(name, safe='')}/")
        return self.not_found()

    def tag_page(self, slug: str) -> Response:
        return self._file(layout.tag_page_file(slug))

    def opml(self) -> Response:
        return self._file(layout.OPML)

    def stylesheet(self) -> Response:
        return self._file(layout.STYLESHEET)

    def article(self, article_id: str) -> Response:
        opened = self.folder.article(article_id)
        return self.not_found() if opened is None else self._send(opened)

    def _file(self, path: str | None) -> Response:
        opened = None if path is None else self.folder.published(path, _takes_gzip())
        return self.not_found() if opened is None else self._send(opened)

    def _send(self, opened: Opened) -> Response:
        """200 with the bytes, or 304 if the client's copy is current; closes the file."""
        try:
            fresh = not is_resource_modified(request.environ, etag=opened.etag,
                                             last_modified=opened.last_modified)
            body = b"" if fresh or request.method == "HEAD" else opened.read()
        finally:
            opened.close()
        response = Response(body, status=304 if fresh else 200)
        headers = response.headers
        headers["ETag"] = opened.etag
        headers["Last-Modified"] = http_date(opened.last_modified)
        headers["Cache-Control"] = self.cache_control
        if layout.compressed(opened.name):  # a .gz sibling exists: caches must key on it
            headers["Vary"] = "Accept-Encoding"
        if not fresh:
            headers["Content-Type"] = CONTENT_TYPES[os.path.splitext(opened.name)[1]]
            headers["Content-Length"] = str(opened.size if request.method == "HEAD"
                                            else len(body))
            if opened.encoding:
                headers["Content-Encoding"] = opened.encoding
        else:
            del headers["Content-Type"]
        return response

    def _redirect(self, location: str) -> Response:
        response = Response(b"", status=301, headers={"Location": location})
        response.headers["Cache-Control"] = self.cache_control
        return response

    # --- operations ----------------------------------------------------------

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
            message = ("no publish pass has finished yet: feeds/status.json is missing or "
                       "unreadable; run `seedfeeds publish` (or `serve`) on this folder")
            response = (_json({"error": message}, 503) if wanted == "json"
                        else _text(message + "\n", 503))
            response.headers["Retry-After"] = "30"
        else:
            summary = status_summary(raw)
            response = (_json(summary, 200) if wanted == "json" else Response(
                pages.render_status_page(self.site, summary),
                content_type=CONTENT_TYPES[".html"]))
        response.headers["Vary"] = "Accept"
        response.headers["Cache-Control"] = "no-cache"
        return response

    def metrics(self) -> Response:
        body, content_type = self.prometheus.exposition()
        return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})

    # --- refusals and every response -----------------------------------------

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
        response.headers.update(EVERY_RESPONSE_HEADERS)
        if response.mimetype == "text/html":
            response.headers.update(HTML_HEADERS)
        rule = request.url_rule
        self.prometheus.count(rule.endpoint if rule is not None else "unmatched",
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


def _takes_gzip() -> bool:
    """Accept-Encoding allows gzip (an explicit q=0 refuses it, also against ``*``)."""
    return request.accept_encodings["gzip"] > 0


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

