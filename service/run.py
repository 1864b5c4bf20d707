"""How the commands that run for a while run: `seedfeeds build`, `publish`, `serve`
(the publisher and the web in one process) and `web`, from start-up to signal.

Start-up refuses, before anything is built or touched, what would fail later or do
harm: paths of the wrong kind or inside one another, an address the web server
cannot listen on, a feeds folder or state that another publisher holds. Then
SIGTERM (what Docker sends), SIGINT (Ctrl-C) and SIGHUP stop the command at any
moment with a log line: live publishing lets the pass in flight finish and exits 0;
a build in the main thread is abandoned (its render workers terminated) and the
command exits 128 + the signal's number, since a build cut short is no success.
Every file is written atomically, so even a kill leaves no half-written file behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING

from service import layout
from service.catalog import statefile
from service.config import APART, BY_NAME, Settings, refusal
from service.heap import few_malloc_arenas
from service.publish.lock import Locks, publisher_locks

if TYPE_CHECKING:  # live publishing, the mirror and the hub: `build` never loads them
    from service.push.hub import Hub

log = logging.getLogger(__name__)

PUBLISHED_FOLDERS = ("seeds", "feeds")  # what the commands that publish read and write
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal, raised in the main thread. It unwinds a build like Ctrl-C does,
    and it stops the web server's loop, which takes Ctrl-C as its cue to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def publishing(settings: Settings, quiet: Callable[[], bool] = lambda: False) -> Iterator[Locks]:
    """The start of a command that publishes: its folders and state checked (before the
    locks are made beside them), the feeds folder and the state locked, and stop
    signals raising ``Stopped``, for the block."""
    check_paths(settings, PUBLISHED_FOLDERS)
    statefile.check_state(settings)
    with publisher_locks(settings) as locks, stopped_by_signals(quiet):
        yield locks


@contextlib.contextmanager
def stopped_by_signals(quiet: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """For the block, SIGTERM, SIGINT and SIGHUP log a line (unless ``quiet()``) and
    raise ``Stopped`` in the main thread, once; the handlers before are restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals (a test's runner, say)
        return
    called = threading.Event()

    def handler(number: int, _frame: FrameType | None) -> None:
        if called.is_set():
            log.info("received %s, already stopping", signal.Signals(number).name)
            return
        called.set()
        if not quiet():
            log.warning("received %s, stopping", signal.Signals(number).name)
        raise Stopped(number)

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, before in previous.items():
            signal.signal(number, before)


def on_stop_signals(stop: Callable[[], None]) -> None:
    """Call ``stop`` (once) on SIGTERM, SIGINT or SIGHUP."""
    called = threading.Event()

    def handler(number: int, _frame: FrameType | None) -> None:
        if not called.is_set():
            called.set()
            log.info("received %s, stopping", signal.Signals(number).name)
            stop()

    for number in STOP_SIGNALS:
        signal.signal(number, handler)


def check_paths(settings: Settings, names: tuple[str, ...]) -> None:
    """The named folder settings, as a command that uses them needs them: folders where
    they exist or can be made, none inside another; SettingError if not. Creates
    nothing."""
    paths = {name: getattr(settings, name) for name in names}
    for name, path in paths.items():
        above = next((folder for folder in path.parents if folder.exists()), None)
        if above is not None and not above.is_dir():
            raise refusal(name, f"{above} is not a folder, so {path} cannot be created")
        if BY_NAME[name].kind == "folder" and path.exists() and not path.is_dir():
            raise refusal(name, f"{path} is not a folder")
    real = {name: path.resolve() for name, path in paths.items()}
    for inner, outer in APART:
        if inner in real and outer in real and real[inner].is_relative_to(real[outer]):
            where = "is" if real[inner] == real[outer] else "is inside"
            raise refusal(inner, f"{paths[inner]} {where} {BY_NAME[outer].flag} / "
                          f"{BY_NAME[outer].env} ({paths[outer]}): keep the seeds folder, "
                          "the feeds folder and the state apart")


def check_listen(settings: Settings, port_setting: str = "port") -> None:
    """Before `serve` (or `publish` with its hub) builds anything: a host that resolves,
    and the port free on each of its addresses; SettingError naming the one at fault, in
    the words the web server uses when its own bind fails (a port taken in between)."""
    import socket  # here: `build` never listens

    from service.web.server import bind_refusal  # serve loads the web anyway

    host, port = settings.host or "every interface", getattr(settings, port_setting)
    try:
        addresses = socket.getaddrinfo(settings.host or None, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        raise refusal("host", f"{settings.host!r} does not resolve to an address") from None
    for family, kind, protocol, _name, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as waitress does
            try:
                probe.bind(address)
            except OSError as exc:
                raise bind_refusal(exc, host, port, port_setting) from None


def run_web_only(settings: Settings) -> None:
    """`seedfeeds web`: serve the feeds folder until a stop signal."""
    from service.web.server import run_web  # imported only by the commands that serve

    few_malloc_arenas()
    check_paths(settings, ("feeds",))  # the address: refused by the server's own bind
    with stopped_by_signals():
        run_web(settings)


def run_publisher(settings: Settings) -> None:
    """`seedfeeds publish`: build, then publish changes until a stop signal; with the
    hub on, it answers /websub on its own port meanwhile."""
    from service.live.publishing import LivePublishing, first_build
    from service.mirror import running as mirror
    from service.push.hub import running_hub

    few_malloc_arenas()
    with publishing(settings) as locks, mirror.running(settings) as bucket:
        if settings.websub:  # after the locks: another publisher is the likelier cause
            check_listen(settings, "websub_port")
        live = LivePublishing(settings, first_build(settings, bucket))
        live.start()
        try:
            with running_hub(settings) as hub, locks.kept():
                if hub is None:
                    stopping = threading.Event()
                    on_stop_signals(stopping.set)
                    while not stopping.wait(3600):
                        pass
                else:
                    _serve_hub(settings, hub)
        finally:
            live.stop()


def _serve_hub(settings: Settings, hub: Hub) -> None:
    """The hub's endpoint alone, on --websub-port, until a stop signal."""
    from service.push.endpoint import alone
    from service.web.server import serve

    serve(alone(hub), dataclasses.replace(settings, port=settings.websub_port),
          f"the WebSub hub at {layout.hub_urls(settings)[0]}")


def run_server(settings: Settings) -> None:
    """`seedfeeds serve`: build, publish changes, and serve HTTP until a stop signal.

    A first start builds before it serves: there is nothing to serve yet, and a build
    alone in its process may fork render workers. A restart serves the site as it
    stands at once and rebuilds behind it, in this process (no forking beside the web
    server's threads): readers see no downtime, and every file is replaced atomically.
    """
    from service.live.publishing import Startup
    from service.mirror import running as mirror
    from service.push.hub import running_hub

    few_malloc_arenas()
    check_listen(settings)
    startup = Startup(settings)
    # A first build that fails stops the web server as Ctrl-C would: not a signal to log.
    with (publishing(settings, quiet=lambda: startup.failure is not None) as locks,
          mirror.running(settings) as startup.bucket):
        try:
            if (settings.feeds / layout.MANIFEST).is_file():
                log.info("serving the site as published while the first pass rebuilds it")
                startup.in_background()
            else:
                startup.run()  # before the hub's threads: a lone thread may fork workers
            with running_hub(settings) as hub, locks.kept():
                _serve_web(settings, hub)
        finally:
            startup.stop()


def _serve_web(settings: Settings, hub: Hub | None) -> None:
    """The web server of `serve`, the hub's endpoint (/websub) in front of the web app."""
    # imported only by the commands that serve
    from service.web.server import run_web, serve

    if hub is None:
        run_web(settings)
        return
    from service.push.endpoint import mounted
    from service.web.app import create_app

    serve(mounted(hub, create_app(settings)), settings)
