"""One publisher per bucket prefix: a lock object, ``PREFIX/.seedfeeds/lock``.

It is created with ``If-None-Match: *`` (only one creator wins), refreshed every
REFRESH seconds with ``If-Match`` on its ETag (a holder that finds it changed has lost
it, and stops writing), and deleted with ``If-Match`` when its holder stops. A holder
that died (kill -9, a lost machine) leaves it behind: it is taken over with ``If-Match``
once it has not been refreshed for STALE seconds, as the store's own clock tells (its
Date against the object's Last-Modified, so clocks of other machines do not matter), or
at once by a publisher of the same feeds folder on the same host, which holds that
folder's flock and so knows the old holder is gone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from service.mirror.aws import Bucket, Fetched, NotFound, PreconditionFailed, StoreError
from service.mirror.objects import OWN

log = logging.getLogger(__name__)

PATH = f"{OWN}lock"
REFRESH = 15.0  # seconds between two refreshes
STALE = 60.0  # seconds unrefreshed after which a lock is taken over


class Held(StoreError):
    """Another publisher holds the prefix."""


class Lost(StoreError):
    """This publisher's lock was taken over or removed: it must stop writing."""


class PrefixLock:
    """The lock of one bucket prefix, as one publisher (``owner``) takes and keeps it."""

    def __init__(self, bucket: Bucket, feeds: Path, where: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bucket, self.where, self.clock = bucket, where, clock
        self.owner = uuid.uuid4().hex
        self.identity = {"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                         "feeds": str(feeds.resolve()),
                         "since": datetime.now(UTC).isoformat(timespec="seconds")}
        self.etag: str | None = None
        self.refreshed = 0.0  # when (self.clock) it was last written

    @property
    def held(self) -> bool:
        return self.etag is not None

    def holder(self) -> str | None:
        """Who else holds the prefix, in words; None if nobody does, or a holder that is
        gone (stale, or this folder's previous publisher). A read: it writes nothing."""
        fetched = self._fetch()
        return None if fetched is None or self._gone(fetched) else self._describe(fetched)

    def acquire(self) -> None:
        """Take the lock; Held if another publisher has it, StoreError if unreachable."""
        if self.held:
            self.keep()
            return
        body = self._body()
        try:
            self._written(self.bucket.put(PATH, body, "application/json", "no-store",
                                          if_none_match=True))
            return
        except PreconditionFailed:
            pass
        fetched = self._fetch()
        if fetched is None:  # released in between: try once more, as a newcomer
            self._written(self.bucket.put(PATH, body, "application/json", "no-store",
                                          if_none_match=True))
            return
        if not self._gone(fetched):
            raise Held(f"{self.where} is in use by another publisher ({self._describe(fetched)});"
                       " run one publisher per bucket prefix, or stop that one first")
        log.warning("mirror: taking over the lock of %s from %s", self.where,
                    self._describe(fetched))
        try:
            self._written(self.bucket.put(PATH, body, "application/json", "no-store",
                                          if_match=fetched.etag))
        except PreconditionFailed:
            raise Held(f"{self.where}: another publisher took the lock first") from None

    def keep(self) -> None:
        """Refresh the lock if REFRESH seconds have passed; Lost if it is not ours any more."""
        if self.etag is None or self.clock() - self.refreshed < REFRESH:
            return
        try:
            self._written(self.bucket.put(PATH, self._body(), "application/json", "no-store",
                                          if_match=self.etag))
        except PreconditionFailed:
            self.etag = None
            raise Lost(f"the lock of {self.where} was taken over by another publisher: this "
                       "one stops writing to the bucket") from None

    def fresh(self) -> bool:
        """Held, and refreshed recently enough that nobody can have taken it over."""
        return self.etag is not None and self.clock() - self.refreshed < STALE / 2

    def release(self) -> None:
        """Delete the lock if it is still ours (a failure is only logged: it goes stale)."""
        if self.etag is None:
            return
        etag, self.etag = self.etag, None
        try:
            self.bucket.delete(PATH, if_match=etag)
        except StoreError as exc:
            log.warning("mirror: could not release the lock of %s (%s); it is taken over "
                        "after %g s", self.where, exc, STALE)

    def _written(self, etag: str) -> None:
        self.etag, self.refreshed = etag, self.clock()

    def _body(self) -> bytes:
        refreshed = datetime.now(UTC).isoformat(timespec="seconds")
        return json.dumps({**self.identity, "refreshed": refreshed}).encode()

    def _fetch(self) -> Fetched | None:
        try:
            return self.bucket.get(PATH)
        except NotFound:
            return None

    def _gone(self, fetched: Fetched) -> bool:
        """The holder is dead: a lock left by this folder's previous publisher on this
        host (this process holds the folder's flock), or one unrefreshed for STALE s."""
        data = _parse(fetched.body)
        if data.get("owner") == self.owner:
            return True
        if (data.get("host"), data.get("feeds")) == (self.identity["host"],
                                                      self.identity["feeds"]):
            return True
        return (fetched.now - fetched.modified).total_seconds() > STALE

    def _describe(self, fetched: Fetched) -> str:
        data = _parse(fetched.body)
        age = max((fetched.now - fetched.modified).total_seconds(), 0.0)
        return (f"pid {data.get('pid', '?')} on {data.get('host', '?')}, feeds "
                f"{data.get('feeds', '?')}, since {data.get('since', '?')}, refreshed "
                f"{age:.0f} s ago")


def _parse(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
