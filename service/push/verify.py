"""Verification of intent (WebSub section 5.3): each recorded request is confirmed by
its callback before it changes anything.

The callback gets a GET with ``hub.mode``, ``hub.topic``, a fresh ``hub.challenge``
(32 random bytes, used once), ``hub.lease_seconds`` on subscribe, and ``hub.verify_token``
when the subscriber gave one (PubSubHubbub 0.3 readers check it), appended to its own
query. Only a 2xx whose body is exactly the challenge confirms; then the subscription
is made or replaced (its lease counted from the GET), or ended for unsubscribe. Any
other answer leaves the old subscription as it was. A callback that cannot be reached
(or answers 429 or 5xx) is asked again after RETRIES; a topic no longer published by
the time its subscribe is verified is denied instead (``hub.mode=denied``).

The callback's address is checked again right before each request, and the request
goes to that address (``client``). Requests run on a few threads, a few per callback
host at a time (``lanes``); a request half done when the process stops is still in the
store, and is asked again, with a new challenge, after the restart.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from functools import partial
from urllib.parse import urlencode, urlsplit

from service.push import address, client
from service.push.lanes import Lanes
from service.push.store import Pending, Store, StoreError
from service.push.topics import Topics

log = logging.getLogger(__name__)

RETRIES = (30.0, 300.0)  # seconds before asking an unreachable callback again, in turn
WORKERS = 4  # verifications at once
PER_HOST = 2  # verifications at once to one callback host
SWEEP_EVERY = 3600.0  # seconds between two sweeps of ended leases
BATCH = 500  # due requests taken from the store at a time
STOP_WAIT = 2.0  # seconds a stop waits for verifications in flight


class Verifier:
    """Asks each callback to confirm its pending request, as soon as it is due."""

    def __init__(self, store: Store, topics: Topics, allow_private: bool,
                 resolver: address.Resolver = address.resolve,
                 clock: Callable[[], float] = time.time,
                 note: Callable[[str], None] = lambda _what: None) -> None:
        self.store, self.topics, self.clock, self.note = store, topics, clock, note
        self.allow_private, self.resolver = allow_private, resolver
        self._lanes = Lanes(WORKERS, PER_HOST, "websub-verify")
        self._in_flight: set[int] = set()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="websub-verifier", daemon=True)

    def start(self) -> None:
        self._lanes.start()
        self._thread.start()

    def wake(self) -> None:
        """A request was recorded, or one finished: look at what is due."""
        with self._wake:
            self._wake.notify()

    def stop(self) -> bool:
        """Stop taking requests; True if every verification in flight finished."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()
        return self._lanes.stop(STOP_WAIT)

    def _run(self) -> None:
        swept = 0.0
        while True:
            now = self.clock()
            try:
                if now - swept >= SWEEP_EVERY:
                    swept = now
                    ended = self.store.expire(now)
                    if ended:
                        log.info("websub: %d subscriptions ended with their lease", ended)
                wait = self._dispatch(now)
            except StoreError as exc:
                log.error("websub: %s; trying again in a minute", exc)
                wait = 60.0
            with self._wake:
                if self._stopping:
                    return
                self._wake.wait(wait)
                if self._stopping:
                    return

    def _dispatch(self, now: float) -> float:
        """Start the due requests not in flight; seconds until the next one is due."""
        for request in self.store.due(now, BATCH):
            with self._wake:
                if request.id in self._in_flight:
                    continue
                self._in_flight.add(request.id)
            host = (urlsplit(request.callback).hostname or "").lower()
            self._lanes.submit(host, partial(self._verify, request))
        upcoming = self.store.next_due()
        if upcoming is None:
            return SWEEP_EVERY
        # Due but in flight: its end wakes us. Capped, so the sweep still comes.
        return min(max(upcoming - now, 0.05) if upcoming > now else 1.0, SWEEP_EVERY)

    def _verify(self, request: Pending) -> None:
        try:
            self._ask(request)
        except StoreError as exc:
            log.error("websub: %s", exc)
        finally:
            with self._wake:
                self._in_flight.discard(request.id)
                self._wake.notify()

    def _ask(self, request: Pending) -> None:
        shown = address.shown(request.callback)
        if request.mode == "subscribe" and self.topics.file_of(request.topic) is None:
            self._deny(request, "the topic is not a feed this site publishes any more")
            return
        try:
            target = address.check(request.callback, self.allow_private, self.resolver)
        except address.Unresolved as exc:
            self._failed(request, shown, str(exc))
            return
        except address.Refused as exc:  # its name resolves elsewhere now: nothing is sent
            log.warning("websub: not asking %s: %s", shown, exc)
            self.store.drop(request)
            return
        challenge = secrets.token_urlsafe(32)
        params = {"hub.mode": request.mode, "hub.topic": request.topic,
                  "hub.challenge": challenge}
        if request.mode == "subscribe":
            params["hub.lease_seconds"] = str(request.lease_seconds)
        if request.verify_token is not None:
            params["hub.verify_token"] = request.verify_token
        asked = self.clock()
        try:
            answer = client.request(target, "GET", with_query(target.path, params))
        except client.Unreachable as exc:
            if not self._stopping:
                self._failed(request, shown, str(exc))
            return
        if self._stopping:  # too late to record: asked again, afresh, after the restart
            return
        if 200 <= answer.status < 300 and answer.complete and answer.body == challenge.encode():
            if self.store.confirm(request, asked):
                self.note("verified")
                log.info("websub: %s of %s to %s verified%s", request.mode, shown,
                         request.topic, f" (lease {request.lease_seconds} s)"
                         if request.mode == "subscribe" else "")
        elif answer.status == 429 or answer.status >= 500:
            self._failed(request, shown, f"answered {answer.status}")
        else:
            why = (f"answered {answer.status}" if not 200 <= answer.status < 300
                   else "answered without the challenge")
            log.info("websub: %s of %s to %s not confirmed: the callback %s", request.mode,
                     shown, request.topic, why)
            self.store.drop(request)
            self.note("unconfirmed")

    def _failed(self, request: Pending, shown: str, why: str) -> None:
        """The callback could not be asked: again later, or given up after RETRIES."""
        if request.attempts < len(RETRIES):
            delay = RETRIES[request.attempts]
            log.info("websub: could not verify %s of %s (%s); asking again in %g s",
                     request.mode, shown, why, delay)
            self.store.retry(request, self.clock() + delay)
        else:
            log.warning("websub: gave up verifying %s of %s after %d attempts (%s)",
                        request.mode, shown, request.attempts + 1, why)
            self.store.drop(request)

    def _deny(self, request: Pending, reason: str) -> None:
        """Tell the callback its subscription is refused (section 5.2); its answer, or
        its silence, changes nothing."""
        self.store.drop(request)
        self.note("denied")
        try:
            target = address.check(request.callback, self.allow_private, self.resolver)
            client.request(target, "GET", with_query(target.path, {
                "hub.mode": "denied", "hub.topic": request.topic, "hub.reason": reason}))
        except (address.Refused, client.Unreachable) as exc:
            log.info("websub: could not tell %s of its denial: %s", address.shown(request.callback),
                     exc)
            return
        log.info("websub: denied %s to %s: %s", address.shown(request.callback), request.topic,
                 reason)


def with_query(path: str, params: dict[str, str]) -> str:
    """``path`` with ``params`` appended to its own query (which is kept, as it is)."""
    joiner = "" if path.endswith(("?", "&")) else "&" if "?" in path else "?"
    return path + joiner + urlencode(params)
