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
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from service.layout import CONTENT_TYPES
from service.push import address, client
from service.push.lanes import Lanes
from service.push.outbox import Delivery, Outbox
from service.push.store import Store, StoreError
from service.push.topics import Topics

log = logging.getLogger(__name__)

RETRIES = (30.0, 120.0, 600.0, 3600.0, 21600.0)  # seconds before each retry of a push
JITTER = 0.2
WORKERS = 16  # pushes at once
PER_HOST = 4  # pushes at once to one callback host
WATCH_EVERY = 0.05  # seconds between two looks at the manifest
BATCH = 1000
STOP_WAIT = 2.0


class Distributor:
    """Pushes every change of a topic to its subscribers, from the outbox."""

    def __init__(self, store: Store, topics: Topics, feeds: Path, hub_url: str,
                 allow_private: bool, resolver: address.Resolver = address.resolve,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.outbox, self.topics = store, Outbox(store), topics
        self.feeds, self.hub_url, self.clock = feeds, hub_url, clock
        self.allow_private, self.resolver = allow_private, resolver
        self._lanes = Lanes(WORKERS, PER_HOST, "websub-push")
        self._in_flight: set[tuple[str, str]] = set()  # (topic, callback)
        self._wake = threading.Condition()
        self._stopping = False
        self._seen: dict[str, str] | None = None  # the outbox's record, once read
        self._looked_at: object = None  # the manifest's reading last compared with it
        self._next = 0.0  # when the outbox is to be looked at next (0: at once)
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
                if now >= self._next:
                    self._next = now + self._dispatch(now)
                wait = min(WATCH_EVERY, max(self._next - now, 0.0))
            except StoreError as exc:
                log.error("websub: %s; trying again in a minute", exc)
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
            self._next = 0.0
            if count:
                log.info("websub: %d pushes queued for %d changed feeds", count, len(changed))
        self._seen.update(now)
        self._looked_at = feeds

    def _dispatch(self, now: float) -> float:
        for delivery in self.outbox.due(now, BATCH):
            key = (delivery.topic, delivery.callback)
            with self._wake:
                if key in self._in_flight:
                    continue
                self._in_flight.add(key)
            host = (urlsplit(delivery.callback).hostname or "").lower()
            self._lanes.submit(host, partial(self._push, delivery))
        upcoming = self.outbox.next_due()
        if upcoming is None:
            return 3600.0  # until something is queued
        return max(upcoming - now, WATCH_EVERY)  # due but in flight: its end says so

    def _push(self, delivery: Delivery) -> None:
        try:
            self._deliver(delivery)
        except StoreError as exc:
            log.error("websub: %s", exc)
        finally:
            with self._wake:
                self._in_flight.discard((delivery.topic, delivery.callback))
                self._next = 0.0

    def _deliver(self, delivery: Delivery) -> None:
        shown = address.shown(delivery.callback)
        subscription = self.store.subscription(delivery.topic, delivery.callback)
        file = self.topics.file_of(delivery.topic)
        if subscription is None or subscription.expires <= self.clock() or file is None:
            self.outbox.done(delivery)  # unsubscribed, lease ended, or no longer a feed
            return
        try:
            target = address.check(delivery.callback, self.allow_private, self.resolver)
            body = _read(self.feeds / file)
        except address.Unresolved as exc:
            self._failed(delivery, shown, str(exc))
            return
        except address.Refused as exc:  # its name resolves elsewhere now: nothing is sent
            log.warning("websub: not pushing to %s: %s", shown, exc)
            self.outbox.done(delivery)
            return
        except OSError as exc:  # the file being replaced, or the folder damaged
            self._failed(delivery, shown, f"{file} cannot be read ({exc.strerror or exc})")
            return
        headers = {"Content-Type": CONTENT_TYPES[os.path.splitext(file)[1]],
                   "Link": f'<{self.hub_url}>; rel="hub", <{delivery.topic}>; rel="self"'}
        if subscription.secret is not None:
            digest = hmac.new(subscription.secret.encode("utf-8"), body, hashlib.sha256)
            headers["X-Hub-Signature"] = f"sha256={digest.hexdigest()}"
        try:
            answer = client.request(target, "POST", target.path, headers, body)
        except client.Unreachable as exc:
            if not self._stopping:
                self._failed(delivery, shown, str(exc))
            return
        if self._stopping:
            return
        if 200 <= answer.status < 300:
            self.outbox.done(delivery)
        elif answer.status == 410:
            log.info("websub: %s answered 410 Gone: its subscription to %s ends", shown,
                     delivery.topic)
            self.outbox.gone(delivery)
        else:
            self._failed(delivery, shown, f"answered {answer.status}")

    def _failed(self, delivery: Delivery, shown: str, why: str) -> None:
        if delivery.attempts < len(RETRIES):
            delay = RETRIES[delivery.attempts] * random.uniform(1 - JITTER, 1 + JITTER)
            log.info("websub: push of %s to %s failed (%s); again in %.0f s", delivery.topic,
                     shown, why, delay)
            self.outbox.retry(delivery, self.clock() + delay, why)
        else:
            log.warning("websub: gave up pushing %s to %s after %d attempts (%s); the "
                        "subscription stays", delivery.topic, shown, delivery.attempts + 1, why)
            self.outbox.done(delivery)


def _read(path: Path) -> bytes:
    """The feed's bytes, as the web serves them (the last few files read are kept)."""
    info = path.stat()
    return _read_as(str(path), info.st_mtime_ns, info.st_size, info.st_ino)


@functools.lru_cache(maxsize=32)
def _read_as(path: str, _mtime_ns: int, _size: int, _inode: int) -> bytes:
    with open(path, "rb") as stream:
        return stream.read()


