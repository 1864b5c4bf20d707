"""How the long-running commands run: `seedfeeds serve` (the publisher and the web in
one process) and `seedfeeds publish`, from start to signal.

SIGTERM (what Docker sends) and Ctrl-C stop the watcher, let the pass in
flight finish, and exit; every file is written atomically, so even a kill
leaves no half-written file behind.
"""

from __future__ import annotations

import _thread
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from service import layout
from service.config import Settings
from service.live.publishing import LivePublishing, initial_build

log = logging.getLogger(__name__)


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` (once) on SIGTERM or SIGINT."""
    called = threading.Event()

    def handler(number: int, _frame: FrameType | None) -> None:
        if not called.is_set():
            called.set()
            log.info("received %s, stopping", signal.Signals(number).name)
            stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_publisher(settings: Settings) -> None:
    """`seedfeeds publish`: build, then publish changes until SIGTERM or Ctrl-C."""
    live = LivePublishing(settings, initial_build(settings))
    stopping = threading.Event()
    on_stop_signals(stopping.set)
    live.start()
    try:
        while not stopping.wait(3600):
            pass
    finally:
        live.stop()


def run_server(settings: Settings) -> None:
    """`seedfeeds serve`: build, publish changes, and serve HTTP until SIGTERM or Ctrl-C.

    A first start builds before it serves: there is nothing to serve yet, and a build
    alone in its process may fork render workers. A restart serves the site as it
    stands at once and rebuilds behind it, in this process (no forking beside the web
    server's threads): readers see no downtime, and every file is replaced atomically.
    """
    from service.web.server import run_web  # imported only by the commands that serve

    startup = Startup(settings)
    try:
        if (settings.feeds / layout.MANIFEST).is_file():
            log.info("serving the site as published while the first pass rebuilds it")
            startup.in_background()
        else:
            startup.run()
        run_web(settings)
    finally:
        startup.stop()


class Startup:
    """The first build, then live publishing: before serving, or beside it on a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.live: LivePublishing | None = None
        self.failure: Exception | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Build, then go live (unless a stop came first)."""
        publisher = initial_build(self.settings)
        with self._lock:
            if self._stopping:
                publisher.close()
                return
            self.live = LivePublishing(self.settings, publisher)
            self.live.start()

    def in_background(self) -> None:
        """``run`` on a thread. If it fails, the process stops: serving a site that
        nothing publishes would hide the failure behind a healthy web server."""
        def build() -> None:
            try:
                self.run()
            except Exception as exc:
                self.failure = exc
                log.error("the first publish pass failed, stopping: %s", exc)
                _thread.interrupt_main()  # stops the web server as Ctrl-C would

        self._thread = threading.Thread(target=build, name="first-build")
        self._thread.start()

    def stop(self) -> None:
        """Finish the build in flight, stop live publishing; re-raise a build failure."""
        with self._lock:
            self._stopping = True
        if self._thread is not None:
            if self._thread.is_alive():
                log.info("waiting for the first publish pass to finish")
            self._thread.join()
        if self.live is not None:
            self.live.stop()
        if self.failure is not None:
            raise RuntimeError("the first publish pass failed") from self.failure
