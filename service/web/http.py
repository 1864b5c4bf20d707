"""HTTP's vocabulary for the web side: content types, the headers every answer
carries, conditional requests and content negotiation.

The only module that imports Werkzeug, so the file layer (raw WSGI, for speed) and
the Flask app read dates, ETags and Accept headers the same way.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from werkzeug.exceptions import HTTPException as HTTPException
from werkzeug.exceptions import MethodNotAllowed as MethodNotAllowed
from werkzeug.http import http_date as http_date
from werkzeug.http import parse_accept_header, parse_date

from service.layout import CONTENT_TYPES as CONTENT_TYPES
from service.layout import TEXT as TEXT

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
EVERY_RESPONSE = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))
HTML_RESPONSE = (("Content-Security-Policy", CSP),)
ALLOWED_METHODS = ("GET", "HEAD")


def decoded_path(environ: dict[str, Any]) -> str:
    """PATH_INFO as text: WSGI carries it as latin-1 of the URL's UTF-8 bytes."""
    try:
        return environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        return ""  # not a published address; Flask answers 404


@lru_cache(maxsize=512)
def takes_gzip(accept_encoding: str | None) -> bool:
    """Accept-Encoding allows gzip; an explicit q=0 refuses it, also against ``*``."""
    return bool(accept_encoding) and parse_accept_header(accept_encoding)["gzip"] > 0


def fresh(environ: dict[str, Any], etag: str, modified: datetime) -> bool:
    """The client's copy is current: If-None-Match decides when sent (weak comparison,
    RFC 9110), else If-Modified-Since."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        return etag_matches(if_none_match, etag)
    since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
    return since is not None and modified <= since


@lru_cache(maxsize=1024)
def etag_matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags
