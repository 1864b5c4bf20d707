"""HTTP as a client speaks it to 127.0.0.1: requests by http.client, raw bytes by socket."""

from __future__ import annotations

import contextlib
import http.client
import socket
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(port: int, path: str, headers: Mapping[str, str] | None = None,
            method: str = "GET", body: bytes | None = None, timeout: float = 10.0) -> Reply:
    """One request on a fresh connection; ``path`` is sent exactly as given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        names = {name.lower() for name in response.headers}
        found = {name: ", ".join(response.headers.get_all(name) or []) for name in names}
        return Reply(response.status, found, data)
    finally:
        connection.close()


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes as they are and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def raw_status(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 if there is none)."""
    parts = answer.split(b"\r\n", 1)[0].split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
