"""A third-party subscriber against the hub: flask-websub's subscriber (its own Flask
blueprint, storage and signature check, none of ours) subscribes to a tag feed of a real
`seedfeeds serve` at its hub, is verified, and takes a signed push of the feed when a
seed file changes it.

flask-websub sends a secret only to an https hub, so serve is reached through a TLS
proxy (``support.tlsproxy``) with a certificate from a test CA (trustme), and its
--base-url is the proxy's https URL: the topics (rel=self) and the hub are https URLs,
as behind a production proxy. The subscriber's callback is plain http on 127.0.0.1,
which the hub takes with --websub-allow-private.

flask-websub 0.4.1 runs as it is on Flask 3.1 and Werkzeug 3.1: its subscriber imports
only ``flask`` and ``requests`` names that are still there, so no shim is needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import feedparser
import pytest
import requests
import trustme
from flask import Flask, Response, request
from flask_websub.subscriber import (
    SQLite3SubscriberStorage,
    SQLite3TempSubscriberStorage,
    Subscriber,
)
from werkzeug.serving import BaseWSGIServer, make_server

from support.liveserver import LiveServer
from support.tlsproxy import TLSProxy
from support.waiting import wait_for
from support.websub import rows

SECRET = "flask-websub-secret-4e1d"
SEED = ("Ferry returns to the harbour. Harbour | Transport\n\n"
        "Release time:2026-01-05 10:00\n\nIt is back.\n")
HUB_OPTIONS = ("--websub-allow-private", "true", "--websub-lease", "3600",
               "--websub-lease-min", "60", "--websub-lease-max", "7200")
WAIT = 10.0  # seconds for the hub to verify or push (it takes well under one)


@dataclass
class Site:
    """`seedfeeds serve` behind TLS: its topics and hub are under ``base``."""

    server: LiveServer
    base: str
    ca_file: Path  # the test CA, for whoever must trust the proxy

    @property
    def hub(self) -> str:
        return f"{self.base}/websub"

    def topic(self, slug: str) -> str:
        return f"{self.base}/tags/{slug}.atom"

    def served(self, url: str) -> bytes:
        """What a reader gets at ``url``, over https through the proxy."""
        reply = requests.get(url, verify=str(self.ca_file), timeout=10)
        assert reply.status_code == 200, (url, reply.status_code)
        return reply.content


@dataclass
class Reader:
    """flask-websub's subscriber in a Flask app served on 127.0.0.1 by werkzeug, with
    what its handlers were told: verified subscriptions and the pushes its listener got
    (only pushes whose signature flask-websub found right reach the listener)."""

    app: Flask
    subscriber: Subscriber
    verified: list[tuple[str, str, str]] = field(default_factory=list)  # topic, id, mode
    pushed: list[tuple[str, str, bytes]] = field(default_factory=list)  # topic, id, body
    answered: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status

    def subscribe(self, topic: str, hub: str, ca_file: Path) -> str:
        """Ask ``hub`` for ``topic`` with SECRET; the callback id flask-websub made."""
        with self.app.app_context():
            return self.subscriber.subscribe(topic_url=topic, hub_url=hub, secret=SECRET,
                                             requests_opts={"verify": str(ca_file)})

    def subscription(self, callback_id: str) -> dict[str, Any] | None:
        """The active subscription as flask-websub's own storage holds it."""
        try:
            return dict(self.subscriber.storage[callback_id])
        except KeyError:
            return None

    def pushes_to(self, callback_id: str) -> list[bytes]:
        """The bodies flask-websub handed to its listener for ``callback_id``."""
        return [body for _topic, cid, body in self.pushed if cid == callback_id]

    def posts_answered(self, callback_id: str) -> list[int]:
        """The statuses of the POSTs to ``callback_id``'s callback, once answered."""
        return [status for method, path, status in self.answered
                if method == "POST" and path.endswith(f"/{callback_id}")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("flask-websub")
    ca = trustme.CA()
    ca_file = root / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with TLSProxy(ca.issue_cert("127.0.0.1")) as proxy:
        server = LiveServer(root, "--base-url", proxy.base, *HUB_OPTIONS)
        (server.seeds / "harbour.txt").write_text(SEED, encoding="utf-8")
        proxy.start(to=server.port)
        with server:
            yield Site(server, proxy.base, ca_file)


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    database = str(tmp_path_factory.mktemp("reader") / "subscriber.sqlite")
    subscriber = Subscriber(SQLite3SubscriberStorage(database),
                            SQLite3TempSubscriberStorage(database))
    app = Flask("reader")
    app.register_blueprint(subscriber.build_blueprint(url_prefix="/callbacks"))
    found = Reader(app, subscriber)
    subscriber.add_success_handler(lambda *told: found.verified.append(told))
    subscriber.add_listener(lambda *told: found.pushed.append(told))

    @app.after_request
    def note(response: Response) -> Response:  # seen after flask-websub's view decided
        found.answered.append((request.method, request.path, response.status_code))
        return response

    http: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["SERVER_NAME"] = f"127.0.0.1:{http.port}"  # for its callback URLs
    thread = threading.Thread(target=http.serve_forever, name="reader", daemon=True)
    thread.start()
    try:
        yield found
    finally:
        http.shutdown()
        thread.join(5)
        http.server_close()


@pytest.fixture(scope="module")
def subscribed(site: Site, reader: Reader) -> str:
    """flask-websub's callback id of a verified subscription to the harbour feed."""
    callback_id = reader.subscribe(site.topic("harbour"), site.hub, site.ca_file)
    eventually(lambda: reader.subscription(callback_id), "the hub verified the subscription",
               site, reader)
    return callback_id


def eventually(condition: Callable[[], Any], what: str, site: Site, reader: Reader) -> Any:
    """``condition``'s value once truthy; else AssertionError saying what did not happen,
    with what the callback answered and serve's log as they are then."""
    try:
        return wait_for(condition, WAIT)
    except AssertionError:
        raise AssertionError(f"not so within {WAIT:g} s: {what}\ncallback answered: "
                             f"{reader.answered}\n{site.server.log_text()}") from None


def write_seed(site: Site, name: str, headline: str) -> None:
    """A seed file of the harbour tag dropped into the served seeds folder."""
    (site.server.seeds / name).write_text(f"{headline} Harbour | Transport\n\n"
                                          "Release time:2026-01-06 10:00\n\nMore.\n", "utf-8")


def hub_subscriptions(site: Site, topic: str) -> list[dict[str, Any]]:
    return [row for row in rows(site.server.root / "state.sqlite", "subscriptions")
            if row["topic"] == topic]


def test_the_topic_is_the_https_self_url_of_a_feed_the_manifest_names(site: Site) -> None:
    topic = site.topic("harbour")
    assert topic.startswith("https://127.0.0.1:")
    manifest = json.loads((site.server.feeds / "index.json").read_bytes())
    assert "tags/harbour.atom" in manifest["files"]
    feed = feedparser.parse(site.served(topic))
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [topic]


def test_flask_websub_subscribes_with_a_secret_and_its_intent_is_verified(
        site: Site, reader: Reader, subscribed: str) -> None:
    topic = site.topic("harbour")
    assert (topic, subscribed, "subscribe") in reader.verified
    held = reader.subscription(subscribed)
    assert held is not None
    assert (held["topic_url"], held["hub_url"], held["secret"]) == (topic, site.hub, SECRET)
    assert held["lease_seconds"] == 3600  # as the hub granted it in the verification
    (row,) = hub_subscriptions(site, topic)
    assert row["callback"].endswith(f"/callbacks/{subscribed}")
    assert row["secret"] == SECRET


def test_a_new_seed_file_is_pushed_signed_and_flask_websub_takes_it(
        site: Site, reader: Reader, subscribed: str) -> None:
    held = reader.subscription(subscribed)
    assert held is not None and held["secret"] == SECRET  # so flask-websub checks the signature
    write_seed(site, "second.txt", "Second ferry joins the line.")
    eventually(lambda: any(b"Second ferry joins the line." in body
                           for body in reader.pushes_to(subscribed)),
               "flask-websub's listener got the change", site, reader)
    pushed = next(body for body in reader.pushes_to(subscribed)
                  if b"Second ferry joins the line." in body)
    assert pushed == site.served(site.topic("harbour"))


def test_a_push_signed_with_another_secret_never_reaches_the_listener(
        site: Site, reader: Reader) -> None:
    """The control that makes the test above mean something: flask-websub's listener is
    called only for a body whose X-Hub-Signature its secret reproduces. Here its copy of
    the secret differs from the one the hub signs with, as for a forged push."""
    callback_id = reader.subscribe(site.topic("harbour"), site.hub, site.ca_file)
    held = eventually(lambda: reader.subscription(callback_id),
                      "the hub verified the subscription", site, reader)
    reader.subscriber.storage[callback_id] = {**held, "secret": f"not-{SECRET}"}
    write_seed(site, "third.txt", "Third ferry waits at the pier.")
    eventually(lambda: reader.posts_answered(callback_id), "the callback got the push",
               site, reader)
    assert set(reader.posts_answered(callback_id)) == {200}  # taken, as WebSub asks, ignored
    assert reader.pushes_to(callback_id) == []
