"""Pings of the external hubs (``--websub-external-hubs``): each changed feed is named to
each of them with ``hub.mode=publish``, as WordPress's WebSub plugin does, so their
subscribers are pushed too (the hub then fetches the feed itself).

An external hub is the operator's choice, not a stranger's, so its address is not
held to the callback policy (a hub on the LAN is fine); it is still called only at
the address looked up, with no redirect followed and its answer read bounded, by
``client``. Up to BATCH feeds go in one request (``hub.url`` repeated, which the
reference hubs take). A ping that fails is tried again after RETRIES; one that still
fails is logged and left: the external hub also polls, and the next change pings it
again. Pings run on one thread of their own and never hold up a pass or a push.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

from service.push import address, client
from service.push.topics import Topics

log = logging.getLogger(__name__)

RETRIES = (5.0, 60.0, 600.0)  # seconds before each new try of a failed ping
BATCH = 100  # feeds named in one request
FORM = "application/x-www-form-urlencoded"


class Pinger:
    """Names changed feeds to each external hub, on a thread of its own."""

    def __init__(self, hubs: Sequence[str], resolver: address.Resolver = address.resolve,
                 sleep: Callable[[float], bool] | None = None) -> None:
        self.hubs, self.resolver = tuple(hubs), resolver
        self._work: queue.Queue[tuple[str, tuple[str, ...]] | None] = queue.Queue()
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._thread = threading.Thread(target=self._run, name="websub-ping", daemon=True)

    def start(self) -> None:
        if self.hubs:
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._work.put(None)
        if self._thread.is_alive():
            self._thread.join(5.0)

    def changed(self, topics: Sequence[str]) -> None:
        """Ping every external hub about ``topics`` (feed URLs), soon."""
        ordered = tuple(sorted(topics))
        for hub in self.hubs:
            for start in range(0, len(ordered), BATCH):
                self._work.put((hub, ordered[start:start + BATCH]))

    def _run(self) -> None:
        while (job := self._work.get()) is not None:
            hub, topics = job
            for attempt in range(len(RETRIES) + 1):
                why = self._ping(hub, topics)
                if why is None or self._stopping.is_set():
                    break
                if attempt == len(RETRIES):
                    log.warning("websub: gave up pinging %s about %d feeds: %s", hub,
                                len(topics), why)
                    break
                log.info("websub: ping of %s failed (%s); again in %g s", hub, why,
                         RETRIES[attempt])
                if self._sleep(RETRIES[attempt]):
                    return  # stopping

    def _ping(self, hub: str, topics: tuple[str, ...]) -> str | None:
        """One ping; None if the hub took it (2xx), else why not."""
        try:
            target = address.check(hub, allow_private=True, resolver=self.resolver)
            body = urlencode([("hub.mode", "publish"), *(("hub.url", t) for t in topics)])
            answer = client.request(target, "POST", target.path, {"Content-Type": FORM},
                                    body.encode())
        except (address.Refused, client.Unreachable) as exc:
            return str(exc)
        if 200 <= answer.status < 300:
            log.info("websub: pinged %s about %d changed feeds", hub, len(topics))
            return None
        return f"answered {answer.status}"


class Watch:
    """Pings the external hubs about every feed whose content changes, as the manifest
    tells (one stat every ``every`` seconds); the feeds as they are at start are the
    baseline, so a restart pings nothing."""

    def __init__(self, topics: Topics, pinger: Pinger, every: float = 0.05) -> None:
        self.topics, self.pinger, self.every = topics, pinger, every
        self._seen: dict[str, str] | None = None
        self._looked_at: object = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="websub-ping-watch",
                                        daemon=True)

    def start(self) -> None:
        """Take the baseline now, not on the thread: a pass right after the start must
        be a change, not the baseline."""
        self._look()
        self.pinger.start()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
        self.pinger.stop()

    def _run(self) -> None:
        while not self._stopping.wait(self.every):
            self._look()

    def _look(self) -> None:
        feeds = self.topics.feeds()  # the same object until the manifest changes
        if feeds is None or feeds is self._looked_at:
            return
        now = {topic: feed.sha256 for topic, feed in feeds.items()}
        if self._seen is not None:
            changed = [t for t, sha in now.items() if self._seen.get(t) != sha]
            if changed:
                self.pinger.changed(changed)
        self._seen, self._looked_at = now, feeds
