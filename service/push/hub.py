"""The hub's protocol (WebSub section 5): what a subscribe or unsubscribe request must
hold, and the answer given at once.

A request is answered before anyone is asked: 202 once it is recorded (its callback is
then asked to verify it, by ``verify``), or 4xx with a one-line reason, and then no
request at all goes to the callback: a parameter missing or malformed, a topic that is
not one of this site's feeds, a callback the address policy refuses (``address``), a
secret of 200 bytes or more, a client or callback host over its rate (429) and a new
subscription over a cap (``limits``). Unknown parameters are ignored, as the spec requires.

A secret is taken over plain http as over https: the spec asks subscribers to send one
only over https, and leaves the hub free to refuse or to accept it; behind a proxy that
ends TLS the hub sees http whatever the subscriber used, and refusing would lose the
readers that always send one (Feedbin), while protecting nothing the request had not
already exposed. It is used only to sign pushes, never sent back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from service import layout
from service.config import Settings, refusal
from service.push import address, limits
from service.push.deliver import Distributor
from service.push.ping import Pinger, Watch
from service.push.report import Report
from service.push.schema import host_of
from service.push.store import Store, StoreError, hub_file
from service.push.topics import Topics
from service.push.verify import Verifier

log = logging.getLogger(__name__)

MAX_SECRET = 200  # bytes: "MUST be less than 200 bytes in length"
MAX_TOKEN = 200  # bytes of a hub.verify_token echoed back
MAX_PENDING = 10_000  # requests waiting for verification; more are answered 503
LOOKUPS = 4  # names being resolved at once for requests; more are answered 503
ARRIVING_WAIT = 5  # seconds a reader waits (Retry-After) for a feed a pass is writing
LOOKUP_WAIT = 3.0  # seconds a request waits for its callback's name to resolve
MODES = ("subscribe", "unsubscribe")


@dataclass(frozen=True)
class Request:
    mode: str
    topic: str
    callback: str
    lease_seconds: int | None  # as asked; None: not asked
    secret: str | None
    verify_token: str | None


@dataclass(frozen=True)
class Leases:
    """The leases the hub grants, in seconds: ``default`` to a request that asks for
    none, and what is asked for within [low, high]."""

    default: int
    low: int
    high: int

    def grant(self, asked: int | None) -> int:
        return self.default if asked is None else min(max(asked, self.low), self.high)


class Refusal(Exception):
    """The request is refused at once: ``status``, a one-line reason and, for 429 and
    503, the seconds to wait (Retry-After)."""

    def __init__(self, status: int, reason: str, wait: int | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason
        self.wait = wait if wait is not None else 60 if status in (429, 503) else None


@dataclass(frozen=True)
class Answer:
    """What the endpoint answers a request."""

    status: int
    reason: str
    retry_after: int | None = None  # seconds, for 429 and 503


def parse(form: Sequence[tuple[str, str]]) -> Request:
    """A subscription request from its form fields; Refusal (400) naming the field."""
    fields: dict[str, str] = {}
    for name, value in form:
        if name.startswith("hub.") and fields.setdefault(name, value) != value:
            raise Refusal(400, f"{name}: given twice, with different values")
    mode = fields.get("hub.mode", "")
    if mode not in MODES:
        raise Refusal(400, "hub.mode: expected subscribe or unsubscribe, got "
                      f"{mode[:40]!r}" if mode else "hub.mode: missing")
    for name in ("hub.topic", "hub.callback"):
        if not fields.get(name):
            raise Refusal(400, f"{name}: missing")
    lease = fields.get("hub.lease_seconds", "").strip()
    if lease and (not lease.isdigit() or not int(lease)):
        raise Refusal(400, f"hub.lease_seconds: expected a whole number of seconds, got "
                      f"{lease[:40]!r}")
    secret = fields.get("hub.secret") or None
    if secret is not None and len(secret.encode("utf-8")) >= MAX_SECRET:
        raise Refusal(400, f"hub.secret: must be shorter than {MAX_SECRET} bytes")
    token = fields.get("hub.verify_token") or None
    if token is not None and len(token.encode("utf-8")) > MAX_TOKEN:
        raise Refusal(400, f"hub.verify_token: must be at most {MAX_TOKEN} bytes")
    return Request(mode, fields["hub.topic"], fields["hub.callback"],
                   int(lease) if lease and mode == "subscribe" else None, secret, token)


def leases_of(settings: Settings) -> Leases:
    """The lease bounds of the settings; a StartupError naming them if they disagree."""
    low, default, high = (settings.websub_lease_min, settings.websub_lease,
                          settings.websub_lease_max)
    if not low <= default <= high:
        raise refusal("websub_lease", f"{default} is not within the bounds --websub-lease-min "
                      f"({low}) and --websub-lease-max ({high})")
    return Leases(default, low, high)


class Hub:
    """The hub of one site: its endpoint's logic, its store and its verifier."""

    def __init__(self, settings: Settings, resolver: address.Resolver = address.resolve,
                 clock: Callable[[], float] = time.time) -> None:
        self.leases = leases_of(settings)
        self.allow_private = settings.websub_allow_private
        self.topics = Topics(settings.feeds, settings.base_url)
        self.store = Store(hub_file(settings.state))
        self.clock = clock
        self._resolver = resolver
        self._looking = threading.BoundedSemaphore(LOOKUPS)
        self.report = Report(settings.feeds, self.store, self.topics, clock)
        self.verifier = Verifier(self.store, self.topics, self.allow_private, resolver, clock,
                                 self.report.count)
        self.url = layout.hub_urls(settings)[0]
        self.distributor = Distributor(self.store, self.topics, settings.feeds,
                                       layout.hub_urls(settings), self.allow_private,
                                       resolver, clock, self.report.count,
                                       settings.websub_signature)
        self.per_client = limits.Rate(settings.websub_client_rate)
        self.per_host = limits.Rate(settings.websub_host_rate)
        self.host_cap, self.total_cap = (settings.websub_host_subscriptions,
                                         settings.websub_subscriptions)
        self.total = limits.Total(self.store.total)

    def start(self) -> None:
        self.verifier.start()
        self.distributor.start()
        self.report.start()

    def stop(self) -> None:
        """Stop verifying and pushing (what is half done is done again after a restart)."""
        finished = [self.verifier.stop(), self.distributor.stop()]
        self.report.stop()
        if all(finished):
            self.store.close()

    def receive(self, form: Sequence[tuple[str, str]], client: str = "") -> Answer:
        """The answer to a POST to the hub from the address ``client``: 202 and what
        happens next, or 4xx or 503 and why not."""
        try:
            self._within_rate(self.per_client, client, f"from {client or 'this address'}")
            request = parse(form)
            problem = self.topics.problem(request.topic)
            if problem is not None and not (  # a gone feed's subscribers may still leave
                    request.mode == "unsubscribe"
                    and self.store.subscription(request.topic, request.callback)):
                if self.topics.arriving(request.topic):
                    raise Refusal(503, "hub.topic: this feed is being published: try again "
                                  "in a few seconds", ARRIVING_WAIT)
                raise Refusal(400 if self.topics.published() else 503, f"hub.topic: {problem}")
            host = host_of(request.callback)
            self._within_rate(self.per_host, host, f"for callbacks on {host or 'one host'}")
            self._check_callback(request.callback)
            if request.mode == "subscribe":
                self._within_caps(request, host)
            if self.store.pending() >= MAX_PENDING:
                raise Refusal(503, "too many requests are waiting for verification: try "
                              "again later")
            lease = self.leases.grant(request.lease_seconds)
            self.store.request(request.topic, request.callback, request.mode, request.secret,
                               lease, request.verify_token, self.clock())
        except Refusal as refused:
            return Answer(refused.status, refused.reason, refused.wait)
        except StoreError as exc:
            log.error("websub: %s", exc)
            return Answer(503, "the hub cannot record requests just now: try again later", 60)
        self.verifier.wake()
        return Answer(202, f"accepted: the callback will be asked to confirm this "
                      f"{request.mode} request")

    @staticmethod
    def _within_rate(rate: limits.Rate, key: str, whose: str) -> None:
        wait = rate.take(key)
        if wait:
            seconds = limits.retry_after(wait)
            raise Refusal(429, f"too many subscription requests {whose}: try again in "
                          f"{seconds} s", seconds)

    def _within_caps(self, request: Request, host: str) -> None:
        """Refusal if a new subscription would pass a cap (a renewal never does)."""
        if self.store.subscription(request.topic, request.callback) is not None:
            return
        if self.store.held_by(host) >= self.host_cap:
            raise Refusal(403, f"hub.callback: callbacks on {host} hold {self.host_cap} "
                          "subscriptions, the most this hub takes for one host")
        if self.total.value() >= self.total_cap:
            raise Refusal(503, f"the hub holds {self.total_cap} subscriptions, the most it "
                          "takes: try again later", 3600)
        self.total.added()

    def _check_callback(self, callback: str) -> None:
        """Refusal (403) if the address policy refuses the callback, after looking its
        name up on a thread of the hub's, for at most LOOKUP_WAIT seconds."""
        try:
            address.check(callback, self.allow_private, self._bounded_resolve)
        except address.Refused as exc:
            raise Refusal(403, f"hub.callback: refused: {exc}") from None

    def _bounded_resolve(self, host: str, port: int) -> list[str]:
        """``resolver`` on a thread of its own, LOOKUPS at most at once, waited for up to
        LOOKUP_WAIT seconds (a name server that never answers must not hold a web
        thread). The thread is a daemon: a lookup that hangs does not hold up a stop."""
        if not self._looking.acquire(blocking=False):
            raise Refusal(503, "too many callback names are being looked up: try again")
        outcome: list[list[str] | BaseException] = []
        done = threading.Event()

        def look() -> None:
            try:
                outcome.append(self._resolver(host, port))
            except BaseException as exc:  # handed to the request's thread
                outcome.append(exc)
            finally:
                self._looking.release()
                done.set()

        threading.Thread(target=look, name="websub-lookup", daemon=True).start()
        if not done.wait(LOOKUP_WAIT):
            raise Refusal(503, f"hub.callback: {host} did not resolve within "
                          f"{LOOKUP_WAIT:g} s: try again")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]


@contextlib.contextmanager
def running_hub(settings: Settings) -> Iterator[Hub | None]:
    """The hub of ``settings``, verifying and pushing, for the block (None if
    ``--websub`` is off), and the pings of the external hubs if any are named;
    stopped after it."""
    with contextlib.ExitStack() as stack:
        if settings.websub_external_hubs:
            watch = Watch(Topics(settings.feeds, settings.base_url),
                          Pinger(settings.websub_external_hubs))
            watch.start()
            stack.callback(watch.stop)
        if not settings.websub:
            yield None
            return
        hub = Hub(settings)
        hub.start()
        stack.callback(hub.stop)
        yield hub
