"""The hub as the tests drive it: a published site's manifest, the hub's settings, a
form POSTed to its endpoint (in this process, as WSGI, or over HTTP to a server), and
its database read as it stands."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

from service.config import Settings, load_settings
from service.push.endpoint import Endpoint
from service.push.hub import Hub

from support.client import Reply, request

BASE = "http://news.test"
TOPIC = f"{BASE}/tags/harbour.atom"
FEEDS = ("all.atom", "all.rss", "all.json", "tags/harbour.atom", "tags/harbour.rss",
         "tags/harbour.json", "tags/harbour/index.html", "index.html")
FORM = "application/x-www-form-urlencoded"
Fields = dict[str, str] | list[tuple[str, str]] | bytes


def publish(feeds: Path, files: tuple[str, ...] = FEEDS,
            contents: dict[str, bytes] | None = None) -> None:
    """``files`` written (``contents`` by name, else a line naming the file) and a
    manifest listing them with their sha256, as a build publishes them: the files of
    the manifest before that are not among them are gone."""
    manifest = feeds / "index.json"
    if manifest.exists():
        for gone in json.loads(manifest.read_bytes())["files"].keys() - set(files):
            (feeds / gone).unlink(missing_ok=True)
    rows = {}
    for name in files:
        data = (contents or {}).get(name, f"{name}\n".encode())
        path = feeds / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rows[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                      "updated": "2026-01-01T00:00:00Z"}
    manifest.write_text(json.dumps({"version": 1, "files": rows}))


def settings_for(root: Path, **flags: str) -> Settings:
    """A hub's settings under ``root``: private callbacks allowed, leases 60-7200 s
    (3600 when none is asked)."""
    return load_settings({"feeds": str(root / "feeds"), "state": str(root / "state.sqlite"),
                          "base_url": BASE, "websub_allow_private": "true",
                          "websub_lease": "3600", "websub_lease_min": "60",
                          "websub_lease_max": "7200", **flags}, {})


def _body(fields: Fields) -> bytes:
    return fields if isinstance(fields, bytes) else urlencode(fields).encode()


def post(hub: Hub, fields: Fields, method: str = "POST", content_type: str = FORM
         ) -> tuple[int, str]:
    """The endpoint's status and text for a request, called as WSGI."""
    body = _body(fields)
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": "/websub",
                               "CONTENT_TYPE": content_type,
                               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    setup_testing_defaults(environ)
    answer: list[str] = []
    chunks = Endpoint(hub)(environ, lambda status, _headers: answer.append(status))
    return int(answer[0].split()[0]), b"".join(chunks).decode()


def post_http(port: int, fields: Fields) -> Reply:
    """A form POSTed to /websub of the server on 127.0.0.1:``port``."""
    return request(port, "/websub", {"Content-Type": FORM}, "POST", _body(fields))


def rows(state: Path, table: str) -> list[dict[str, Any]]:
    """The rows of one table of the hub's database beside ``state``, read-only."""
    path = state.with_name(state.name + ".hub.sqlite")
    if not path.exists():
        return []
    db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute(f"SELECT * FROM {table}")]
    finally:
        db.close()
