"""Content distribution (WebSub section 7): each changed feed, to each of its subscribers.

The hub watches the manifest (``feeds/index.json``, a stat every WATCH_EVERY seconds):
when a topic's sha256 there differs from what the outbox recorded, its subscribers are
owed it, and that is queued before anything is sent (``outbox``). A change made while
the hub was stopped is found the same way at start. A subscriber gets a POST of the
feed's exact bytes as the web serves them, read from the file when sent (so always
the newest), with the web's Content-Type, ``Link: <hub>; rel="hub", <self>;
rel="self"``, and ``X-Hub-Signature: sha256=<HMAC of the body>`` when it gave a secret.
Nothing is pushed when a subscription is verified: only changes are.

2xx is done; 410 ends the subscription; anything else (a redirect included) or no
answer is tried again after RETRIES (each within 20 % either way), then that push is
given up; the subscription itself stays until its lease ends, and the next change is
pushed to it again. Pushes run on WORKERS threads, PER_HOST at a time to one callback
host, one at a time to one callback for one topic, so a newer feed never overtakes an
older one on the way.

The outbox is read when there is something to send, not while pushes run: when the
manifest changed, when a push ends that a newer delivery of its callback waits behind,
when a batch of BATCH left more behind, and when the next retry is due; a push that
ends says which, and wakes the dispatcher at once. Every push of a burst forgets its
delivery in a group commit (``outbox``), so 1,000 pushes cost a few dozen fsyncs.
Measured by bench/push.py.
"""

from __future__ import annotations

import functools
import hmac
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from service.layout import CONTENT_TYPES, link_header
from service.push import address, client
from service.push.lanes import Lanes
from service.push.outbox import Delivery, Outbox
from service.push.store import Store, StoreError
from service.push.topics import Topics

log = logging.getLogger(__name__)

RETRIES = (30.0, 120.0, 600.0, 3600.0, 21600.0)  # seconds before each retry of a push
JITTER = 0.2
# Pushes at once. Most of a push is waiting for the subscriber (round trips, its own
# work), not CPU: with callbacks answering 100 ms after the push, 16 workers made 150
# deliveries a second, 128 made 1,150 (bench/push.py --reply-delay 100); with callbacks
# answering at once, 128 were as fast as 16. Started as needed (``lanes``).
WORKERS = 128
PER_HOST = 4  # pushes at once to one callback host
WATCH_EVERY = 0.01  # seconds between two looks at the manifest (a stat: ~5 us)
BATCH = 1000  # deliveries read from the outbox at a time
STOP_WAIT = 2.0
STORE_RETRY = 60.0  # seconds before a push whose record failed is looked at again


class Distributor:
    """Pushes every change of a topic to its subscribers, from the outbox."""

    def __init__(self, store: Store, topics: Topics, feeds: Path, hubs: tuple[str, ...],
                 allow_private: bool, resolver: address.Resolver = address.resolve,
                 clock: Callable[[], float] = time.time,
                 note: Callable[..., None] = lambda _what, _latency=None: None,
                 signature: str = "sha256") -> None:
        self.store, self.outbox, self.topics = store, Outbox(store), topics
        self.feeds, self.hubs, self.clock, self.note = feeds, hubs, clock, note
        self.signature = signature  # the HMAC's hash: sha256 unless the settings say
        self.allow_private, self.resolver = allow_private, resolver
        self._lanes = Lanes(WORKERS, PER_HOST, "websub-push")
        # Under _wake: the pushes running, their delivery's id by (topic, callback); the
        # callbacks with a newer delivery waiting behind one; the ids of the pushes that
        # ended since the outbox was last read (its rows read then may be stale); more
        # due than one batch took.
        self._in_flight: dict[tuple[str, str], int] = {}
        self._behind: set[tuple[str, str]] = set()
        self._ended: set[int] = set()
        self._backlog = False
        self._wake = threading.Condition()
        self._stopping = False
        self._seen: dict[str, str] | None = None  # the outbox's record, once read
        self._looked_at: object = None  # the manifest's reading last compared with it
        self._next = 0.0  # when the outbox is to be read next (0: at once)
        self._thread = threading.Thread(target=self._run, name="websub-pusher", daemon=True)

    def start(self) -> None:
        self._lanes.start()
        self._thread.start()

    def stop(self) -> bool:
        """Stop pushing; True if every push in flight finished (one cut short is still
        in the outbox, and is made again after a restart)."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()
        return self._lanes.stop(STOP_WAIT)

    def _run(self) -> None:
        while True:
            try:
                self._look()
                now = self.clock()
                with self._wake:
                    due = now >= self._next
                    if due:  # a push that ends meanwhile may bring it forward again
                        self._next = math.inf
                if due:
                    upcoming = now + self._dispatch(now)
                    with self._wake:
                        self._next = min(self._next, upcoming)
                wait = min(WATCH_EVERY, max(self._next - now, 0.0))
            except StoreError as exc:
                log.error("websub: %s; trying again in a minute", exc)
                with self._wake:
                    self._next = 0.0
                wait = 60.0
            with self._wake:
                if not self._stopping:
                    self._wake.wait(wait)
                if self._stopping:
                    return

    def _look(self) -> None:
        """Queue what changed since the outbox last looked (nothing the first time a
        topic is seen: its content is not news)."""
        feeds = self.topics.feeds()  # the same object until the manifest changes
        if feeds is None or feeds is self._looked_at:
            return
        if self._seen is None:
            self._seen = self.outbox.published()
        now = {topic: feed.sha256 for topic, feed in feeds.items()}
        changed = {t: sha for t, sha in now.items() if t in self._seen and self._seen[t] != sha}
        new = {t: sha for t, sha in now.items() if t not in self._seen}
        if new:
            self.outbox.queue(new, self.clock(), deliver=False)
        if changed:
            count = self.outbox.queue(changed, self.clock())
            with self._wake:
                self._next = 0.0
            if count:
                log.info("websub: %d pushes queued for %d changed feeds", count, len(changed))
        self._seen.update(now)
        self._looked_at = feeds

    def _dispatch(self, now: float) -> float:
        """Start the due deliveries not in flight; seconds until the outbox is to be
        read again (unless a push's end says sooner)."""
        with self._wake:
            self._ended.clear()  # a push ending from now on may have a stale row below
        due = self.outbox.due(now, BATCH)
        starting = []
        with self._wake:
            self._backlog = len(due) >= BATCH
            for delivery in due:
                if delivery.id in self._ended:
                    continue  # done or rescheduled since it was read
                key = (delivery.topic, delivery.callback)
                running = self._in_flight.get(key)
                if running is not None:
                    if running != delivery.id:  # newer content: once the older is sent
                        self._behind.add(key)
                    continue
                self._in_flight[key] = delivery.id
                starting.append(delivery)
        self._lanes.submit_all((_host(d.callback), partial(self._push, d)) for d in starting)
        upcoming = self.outbox.next_due_after(now)
        return 3600.0 if upcoming is None else max(upcoming - now, 0.0)

    def _push(self, delivery: Delivery) -> None:
        again: float | None = None
        try:
            again = self._deliver(delivery)
        except StoreError as exc:
            log.error("websub: %s; that push is looked at again in a minute", exc)
            again = self.clock() + STORE_RETRY
        finally:
            key = (delivery.topic, delivery.callback)
            with self._wake:
                self._in_flight.pop(key, None)
                self._ended.add(delivery.id)
                if key in self._behind:
                    self._behind.discard(key)
                    again = 0.0
                if self._backlog and len(self._in_flight) <= BATCH // 2:
                    self._backlog = False
                    again = 0.0
                if again is not None and again < self._next:
                    self._next = again
                    self._wake.notify()

    def _deliver(self, delivery: Delivery) -> float | None:
        """Push one delivery; when it is due again if it failed (None: it is done, or
        the hub is stopping)."""
        shown = address.shown(delivery.callback)
        subscription = self.store.subscription(delivery.topic, delivery.callback)
        file = self.topics.file_of(delivery.topic)
        if subscription is None or subscription.expires <= self.clock() or file is None:
            self.outbox.done(delivery)  # unsubscribed, lease ended, or no longer a feed
            return None
        try:
            target = address.check(delivery.callback, self.allow_private, self.resolver)
            body = _read(self.feeds / file)
        except address.Unresolved as exc:
            return self._failed(delivery, shown, str(exc))
        except address.Refused as exc:  # its name resolves elsewhere now: nothing is sent
            log.warning("websub: not pushing to %s: %s", shown, exc)
            self.outbox.done(delivery)
            return None
        except OSError as exc:  # the file being replaced, or the folder damaged
            return self._failed(delivery, shown,
                                f"{file} cannot be read ({exc.strerror or exc})")
        headers = {"Content-Type": CONTENT_TYPES[os.path.splitext(file)[1]],
                   "Link": link_header(self.hubs, delivery.topic)}
        if subscription.secret is not None:  # one call into OpenSSL, not hmac.HMAC's steps
            digest = hmac.digest(subscription.secret.encode("utf-8"), body, self.signature)
            headers["X-Hub-Signature"] = f"{self.signature}={digest.hex()}"
        try:
            answer = client.request(target, "POST", target.path, headers, body)
        except client.Unreachable as exc:
            return None if self._stopping else self._failed(delivery, shown, str(exc))
        if self._stopping:
            return None
        if 200 <= answer.status < 300:
            self.outbox.done(delivery)
            self.note("delivered", self.clock() - delivery.queued)
        elif answer.status == 410:
            log.info("websub: %s answered 410 Gone: its subscription to %s ends", shown,
                     delivery.topic)
            self.outbox.gone(delivery)
            self.note("gone")
        else:
            return self._failed(delivery, shown, f"answered {answer.status}")
        return None

    def _failed(self, delivery: Delivery, shown: str, why: str) -> float | None:
        """Schedule the next attempt (when it is due), or give the push up (None)."""
        self.note("failed")
        if delivery.attempts < len(RETRIES):
            delay = RETRIES[delivery.attempts] * random.uniform(1 - JITTER, 1 + JITTER)
            log.info("websub: push of %s to %s failed (%s); again in %.0f s", delivery.topic,
                     shown, why, delay)
            due = self.clock() + delay
            self.outbox.retry(delivery, due, why)
            return due
        log.warning("websub: gave up pushing %s to %s after %d attempts (%s); the "
                    "subscription stays", delivery.topic, shown, delivery.attempts + 1, why)
        self.outbox.done(delivery)
        self.note("given_up")
        return None


@functools.lru_cache(maxsize=4096)
def _host(callback: str) -> str:
    """The callback's host, lower-case: its lane (parsed once per callback, not per
    push)."""
    return (urlsplit(callback).hostname or "").lower()


def _read(path: Path) -> bytes:
    """The feed's bytes, as the web serves them (the last few files read are kept)."""
    info = path.stat()
    return _read_as(str(path), info.st_mtime_ns, info.st_size, info.st_ino)


@functools.lru_cache(maxsize=32)
def _read_as(path: str, _mtime_ns: int, _size: int, _inode: int) -> bytes:
    with open(path, "rb") as stream:
        return stream.read()


