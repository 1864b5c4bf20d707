"""One feed reader's HTTP connection, and how it tells a dead server from a fault."""

from __future__ import annotations

import gzip
import http.client
from typing import NamedTuple

from .answers import Invalid
from .server import Server


class Down(Exception):
    """The server was down (or went down) during the request."""


class Answer(NamedTuple):
    status: int
    etag: str | None
    body: bytes


class Client:
    """One keep-alive HTTP/1.1 connection, as one feed reader holds it."""

    def __init__(self, server: Server, gzip_ok: bool) -> None:
        self.server, self.gzip_ok = server, gzip_ok
        self.connection: http.client.HTTPConnection | None = None

    def get(self, url: str, etag: str | None) -> Answer:
        """GET ``url`` (conditional if ``etag``); one retry on a fresh connection, as
        clients do when a server closed an idle keep-alive connection."""
        epoch = self.server.epoch
        for attempt in (1, 2):
            if not self.server.up.is_set() or self.server.epoch != epoch:
                self.close()
                raise Down
            try:
                return self._get(url, etag)
            except Invalid:
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                if not self.server.up.is_set() or self.server.epoch != epoch:
                    raise Down from None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _get(self, url: str, etag: str | None) -> Answer:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                                         timeout=30)
        headers = {"User-Agent": "seedfeeds-soak"}
        if etag:
            headers["If-None-Match"] = etag
        if self.gzip_ok:
            headers["Accept-Encoding"] = "gzip"
        self.connection.request("GET", url, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.getheader("Content-Encoding") == "gzip":
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as exc:
                raise Invalid(f"gzip body does not decompress: {exc}") from None
        return Answer(response.status, response.getheader("ETag"), body)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
