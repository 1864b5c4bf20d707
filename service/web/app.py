"""The web side: a Flask app that serves the published feeds/ folder and nothing else.

The only module that imports Flask. It holds no publisher state: every answer comes
from the files under feeds/, whose manifest gives each file's strong ETag and date, so
any number of these processes (or nginx, or a CDN) can serve the folder one publisher
writes.

Routes: the published files (``/``, ``/all.<format>``, ``/tags/<slug>.<format>``,
``/tags/<slug>/``, ``/articles/<id>``, ``/archive/all/<n>.<format>``,
``/archive/tags/<slug>/<n>.<format>``, ``/subscriptions.opml``, ``/static/style.css``,
``/robots.txt``, ``/sitemap.xml``, ``/sitemaps/<n>.xml``, ``/sitemap-news.xml``),
answered by the file layer in ``published`` before Flask sees them, and the operations
routes ``/healthz``, ``/status`` and ``/metrics``.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue

from service.config import Settings
from service.layout import site_of
from service.model import Site
from service.render import pages
from service.web.folder import Folder
from service.web.health import Health
from service.web.http import (
    ALLOWED_METHODS,
    CONTENT_TYPES,
    EVERY_RESPONSE,
    HTML_RESPONSE,
    TEXT,
    HTTPException,
    MethodNotAllowed,
)
from service.web.metrics import Metrics
from service.web.published import PublishedFiles
from service.web.status import status_summary

log = logging.getLogger(__name__)

NOT_FOUND_SHOWN = 200  # characters of a missing path echoed on the 404 page


def create_app(settings: Settings) -> Flask:
    """A Flask app serving ``settings.feeds``; it starts nothing and reads no file until
    a request comes."""
    app = Flask(__name__, static_folder=None)
    app.url_map.merge_slashes = False  # "//healthz" is not an address of ours
    folder = Folder(settings.feeds)
    web = _Operations(folder, site_of(settings), Metrics(folder.status.get, folder.hub.get,
                                                       folder.mirror.get),
                      Health(folder))
    for rule, view in (("/healthz", web.healthz), ("/status", web.status),
                       ("/metrics", web.metrics)):
        app.add_url_rule(rule, view.__name__, view, methods=["GET"],
                         provide_automatic_options=False)
    app.before_request(_only_read_methods)
    app.register_error_handler(HTTPException, web.refuse)
    app.after_request(web.finish)
    # Flask's own way to put middleware in front of it; to mypy, a method replaced.
    app.wsgi_app = PublishedFiles(app.wsgi_app, folder, web.meter,  # type: ignore[method-assign]
                                  settings.max_age, site_of(settings))
    return app


def _only_read_methods() -> None:
    """A published site is read-only: PUT, DELETE, TRACE, OPTIONS... get 405."""
    if request.method not in ALLOWED_METHODS:
        raise MethodNotAllowed(valid_methods=list(ALLOWED_METHODS))


class _Operations:
    """The Flask views: health, status, metrics, and the pages of refusal."""

    def __init__(self, folder: Folder, site: Site, meter: Metrics, health: Health) -> None:
        self.folder, self.site, self.meter, self.health = folder, site, meter, health

    def healthz(self) -> Response:
        """200 while the site served is whole; 503 with the reason in one line if not."""
        problem = self.health.problem()
        return _text("ok\n", 200) if problem is None else _text(problem + "\n", 503)

    def status(self) -> Response:
        """The publisher's state and last pass as JSON (the default) or as an HTML page."""
        wanted = _status_format()
        if wanted is None:
            return _text("format must be json or html\n", 400)
        raw = self.folder.status.get()
        summary = None if not isinstance(raw, dict) else status_summary(
            raw, self.folder.hub.get(), self.folder.mirror.get())
        if summary is None:
            response = self._no_status(wanted)
        elif wanted == "json":
            response = _json(summary, 200)
        else:
            response = Response(pages.render_status_page(self.site, summary),
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

    def refuse(self, error: HTTPException) -> ResponseReturnValue:
        """404 gets the page; other refusals (405, 400) a short text and their headers."""
        if error.code == 404:
            return self.not_found()
        response = error.get_response()
        response.set_data(f"{error.code} {error.name}\n")
        response.content_type = "text/plain" + TEXT
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


def _status_format() -> str | None:
    """json or html: ?format= wins, else Accept; JSON unless the client prefers HTML."""
    asked = request.args.get("format")
    if asked is not None:
        return asked if asked in ("json", "html") else None
    best = request.accept_mimetypes.best_match(["application/json", "text/html"],
                                               default="application/json")
    return "html" if best == "text/html" else "json"



def _text(body: str, status: int) -> Response:
    return Response(body, status=status, content_type="text/plain" + TEXT,
                    headers={"Cache-Control": "no-store"})


def _json(data: object, status: int) -> Response:
    body = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return Response(body, status=status, content_type="application/json" + TEXT)
