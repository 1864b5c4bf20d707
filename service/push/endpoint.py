"""The hub's address, ``/websub``: a small WSGI app of its own, standard library only,
that ``serve`` mounts in front of the web app (``mounted``); every other path goes to
the web app untouched.

It takes a POST of UTF-8 form fields (``application/x-www-form-urlencoded``, at most
MAX_FORM bytes) and answers in plain text, one line: 202 once the request is recorded,
else the status and the reason (``hub``), with Retry-After on 429 and 503. Any other
method gets 405. The client, for the rate limits, is REMOTE_ADDR: the peer, or behind
the trusted proxy (``--trusted-proxy``) the client it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from service.push.hub import Hub

PATH = "/websub"
FORM = "application/x-www-form-urlencoded"
MAX_FORM = 64 * 1024  # bytes of a request's body; a subscription request needs a few hundred
MAX_FIELDS = 100  # form fields in one request

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def mounted(hub: Hub, app: WSGIApp) -> WSGIApp:
    """``app``, with ``PATH`` answered by the hub's endpoint instead."""
    endpoint = Endpoint(hub)

    def dispatch(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
            return endpoint(environ, start_response)
        return app(environ, start_response)

    return dispatch


def alone(hub: Hub) -> WSGIApp:
    """The hub's address and nothing else (`seedfeeds publish` serves it on a port of its
    own): every other path is 404."""
    return mounted(hub, _not_here)


def _not_here(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    body = f"not found: this port serves the WebSub hub at {PATH} only\n".encode()
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body)))])
    return [body]


class Endpoint:
    """The WSGI app of the hub's address."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        status, reason, extra = self._answer(environ)
        body = (reason + "\n").encode("utf-8")
        start_response(f"{status} {HTTPStatus(status).phrase}", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), *extra])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    def _answer(self, environ: dict[str, Any]) -> tuple[int, str, list[tuple[str, str]]]:
        if environ.get("REQUEST_METHOD") != "POST":
            return (405, "the hub takes POST requests: hub.mode=subscribe or unsubscribe, "
                    "hub.topic, hub.callback", [("Allow", "POST")])
        kind = str(environ.get("CONTENT_TYPE", "")).split(";", 1)[0].strip().lower()
        if kind != FORM:
            return 415, f"expected a body of type {FORM}", []
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return 400, "Content-Length is not a number", []
        if length > MAX_FORM:
            return 413, f"the body is larger than {MAX_FORM} bytes", []
        body = environ["wsgi.input"].read(length if length >= 0 else MAX_FORM + 1)
        if len(body) > MAX_FORM:
            return 413, f"the body is larger than {MAX_FORM} bytes", []
        try:
            form = parse_qsl(body.decode("utf-8"), keep_blank_values=True, encoding="utf-8",
                             errors="strict", max_num_fields=MAX_FIELDS)
        except UnicodeDecodeError:
            return 400, "the form is not UTF-8", []
        except ValueError:
            return 400, f"more than {MAX_FIELDS} form fields", []
        answer = self.hub.receive(form, str(environ.get("REMOTE_ADDR", "")))
        wait = [] if answer.retry_after is None else [("Retry-After", str(answer.retry_after))]
        return answer.status, answer.reason, wait
