"""TLS in front of a plain-HTTP server on 127.0.0.1, as a reverse proxy that ends TLS does
it in production: a client that will only speak https to a hub (one that sends a secret
only over https) reaches `seedfeeds serve`, which itself speaks plain HTTP.

It is a byte tunnel, one upstream connection per client connection: what the server
sees and answers is exactly what the client sent and gets (keep-alive included), so the
test is about the server, not about a proxy's rewriting. asyncio does the TLS (memory
BIOs, one thread), which avoids reading and writing one SSL socket from two threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from typing import Self

import trustme

CHUNK = 64 * 1024


class TLSProxy:
    """https://127.0.0.1:``port`` with ``cert``, tunnelled to http://127.0.0.1:``to``. The
    port is bound at once (so it can go into the server's --base-url before either
    starts); ``start(to)`` serves it, on a thread of its own, until ``stop``."""

    def __init__(self, cert: trustme.LeafCert) -> None:
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._tls)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.upstream = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._tunnels: set[asyncio.Task[None]] = set()

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, to: int) -> Self:
        self.upstream = to
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(asyncio.start_server(
            self._tunnel, sock=self._listener, ssl=self._tls), self._loop).result(5)
        return self

    def stop(self) -> None:
        """Stop listening and cut every tunnel still open; the thread ends with it."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()
        self._listener.close()

    async def _shut(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tunnels:
            task.cancel()
        await asyncio.gather(*self._tunnels, return_exceptions=True)

    async def _tunnel(self, client_in: asyncio.StreamReader,
                      client_out: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tunnels.add(task)
        writers = [client_out]
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream)
            writers.append(server_out)
            await asyncio.gather(_copy(client_in, server_out), _copy(server_in, client_out))
            for writer in writers:  # both ends are done: close after what is still buffered
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()
        except OSError:
            client_out.close()  # the server is down: the client sees its connection closed
        except asyncio.CancelledError:  # stopping: cut, do not wait for the peers
            for writer in writers:
                writer.transport.abort()
            # Not raised again: the task is ours, and asyncio 3.11 logs a traceback for a
            # cancelled client task of start_server (it asks the task for its exception).
        finally:
            self._tunnels.discard(task)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Bytes from ``source`` to ``sink`` until ``source`` ends; then ``sink`` is half closed
    (plain TCP) or closed (TLS, which has no half close)."""
    try:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            if sink.can_write_eof():
                sink.write_eof()
            else:
                sink.close()
