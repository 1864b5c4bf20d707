"""The hub's memory: requests apart from subscriptions, a newer request replacing a
pending one, leases with an end, and a file beside the state that outlives its process."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from service.config import StartupError
from service.push.store import Store, hub_file

TOPIC, OTHER = "http://news.test/all.atom", "http://news.test/tags/harbour.atom"
CALLBACK = "https://reader.example/cb?k=1"


@pytest.fixture
def store(tmp_path: Path):
    opened = Store(hub_file(tmp_path / "state.sqlite"))
    yield opened
    opened.close()


def subscribe(store: Store, secret: str | None = "s1", lease: int = 100, now: float = 1000.0,
              topic: str = TOPIC, callback: str = CALLBACK) -> None:
    store.request(topic, callback, "subscribe", secret, lease, None, now)
    (pending,) = [p for p in store.due(now) if p.topic == topic and p.callback == callback]
    assert store.confirm(pending, now)


def test_the_file_sits_beside_the_state_readable_by_its_owner_alone(tmp_path: Path) -> None:
    path = hub_file(tmp_path / "state.sqlite")
    assert path == tmp_path / "state.sqlite.hub.sqlite"
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_request_changes_nothing_until_it_is_confirmed(store: Store) -> None:
    request_id = store.request(TOPIC, CALLBACK, "subscribe", "s1", 100, "tok", 1000.0)
    assert store.subscription(TOPIC, CALLBACK) is None
    (pending,) = store.due(1000.0)
    assert (pending.id, pending.mode, pending.secret, pending.lease_seconds,
            pending.verify_token, pending.attempts) == (request_id, "subscribe", "s1", 100,
                                                        "tok", 0)
    assert store.confirm(pending, 1005.0)
    subscription = store.subscription(TOPIC, CALLBACK)
    assert subscription is not None
    assert (subscription.secret, subscription.expires, subscription.verified) == ("s1", 1105.0,
                                                                                  1005.0)
    assert store.pending() == 0


def test_a_dropped_request_leaves_the_subscription_as_it_was(store: Store) -> None:
    subscribe(store, secret="s1")
    store.request(TOPIC, CALLBACK, "subscribe", "s2", 500, None, 2000.0)
    store.request(OTHER, CALLBACK, "subscribe", None, 500, None, 2000.0)
    (first, _second) = store.due(2000.0)
    assert store.drop(first)
    kept = store.subscription(TOPIC, CALLBACK)
    assert kept is not None and kept.secret == "s1" and kept.expires == 1100.0
    assert store.pending() == 1


def test_a_newer_request_replaces_the_pending_one_and_the_older_cannot_land(store: Store) -> None:
    store.request(TOPIC, CALLBACK, "subscribe", "old", 100, None, 1000.0)
    (older,) = store.due(1000.0)
    store.request(TOPIC, CALLBACK, "subscribe", "new", 100, None, 1001.0)
    assert store.pending() == 1
    assert not store.confirm(older, 1002.0)  # verified too late: it was replaced
    assert not store.retry(older, 2000.0)
    assert store.subscription(TOPIC, CALLBACK) is None
    (newer,) = store.due(1001.0)
    assert store.confirm(newer, 1003.0)
    subscription = store.subscription(TOPIC, CALLBACK)
    assert subscription is not None and subscription.secret == "new"


def test_resubscribing_replaces_the_one_subscription_never_adds_one(store: Store) -> None:
    subscribe(store, secret="s1", now=1000.0)
    subscribe(store, secret=None, lease=300, now=2000.0)
    (only,) = store.active(TOPIC, 2001.0)
    assert (only.secret, only.lease_seconds, only.expires) == (None, 300, 2300.0)


def test_a_confirmed_unsubscribe_ends_the_subscription(store: Store) -> None:
    subscribe(store)
    store.request(TOPIC, CALLBACK, "unsubscribe", None, 100, None, 1500.0)
    (pending,) = store.due(1500.0)
    assert store.confirm(pending, 1500.0)
    assert store.subscription(TOPIC, CALLBACK) is None


def test_retries_wait_until_due(store: Store) -> None:
    store.request(TOPIC, CALLBACK, "subscribe", None, 100, None, 1000.0)
    (pending,) = store.due(1000.0)
    assert store.retry(pending, 1030.0)
    assert store.due(1029.0) == [] and store.next_due() == 1030.0
    (again,) = store.due(1030.0)
    assert again.attempts == 1


def test_leases_end(store: Store) -> None:
    subscribe(store, lease=100, now=1000.0)
    subscribe(store, lease=500, now=1000.0, callback="https://other.example/cb")
    assert [s.callback for s in store.active(TOPIC, 1099.0)] == ["https://other.example/cb",
                                                                 CALLBACK]
    assert [s.callback for s in store.active(TOPIC, 1100.0)] == ["https://other.example/cb"]
    assert store.expire(1200.0) == 1
    assert store.subscription(TOPIC, CALLBACK) is None
    assert store.active(OTHER, 1000.0) == []


def test_what_was_committed_survives_a_kill_9_of_its_process(tmp_path: Path) -> None:
    path = hub_file(tmp_path / "state.sqlite")
    code = (f"import os, pathlib; from service.push.store import Store; "
            f"s = Store(pathlib.Path({str(path)!r})); "
            f"s.request({TOPIC!r}, {CALLBACK!r}, 'subscribe', 'x', 9, None, 1.0); "
            f"p = s.due(1.0)[0]; s.confirm(p, 1.0); "
            f"s.request({OTHER!r}, {CALLBACK!r}, 'subscribe', 'y', 9, 'tok', 2.0); "
            "os.kill(os.getpid(), 9)")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent)
    assert done.returncode == -9
    store = Store(path)
    try:
        subscription = store.subscription(TOPIC, CALLBACK)
        assert subscription is not None and subscription.secret == "x"
        (pending,) = store.due(2.0)
        assert (pending.topic, pending.verify_token) == (OTHER, "tok")
    finally:
        store.close()


def test_a_path_that_cannot_hold_it_is_refused_naming_the_state(tmp_path: Path) -> None:
    path = hub_file(tmp_path / "state.sqlite")
    path.mkdir()
    with pytest.raises(StartupError, match=r"--state / SEEDFEEDS_STATE: .* is a folder"):
        Store(path)
    path.rmdir()
    path.write_text("not a database\n")
    with pytest.raises(StartupError, match="is not a SQLite database"):
        Store(path)
    path.unlink()
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE photos (id INTEGER)")
    other.commit()
    other.close()
    with pytest.raises(StartupError, match="another program's database"):
        Store(path)


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = hub_file(tmp_path / "state.sqlite")
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE hub_meta SET value = '99' WHERE key = 'schema'")
    db.commit()
    db.close()
    with pytest.raises(StartupError, match="newer seedfeeds"):
        Store(path)


def test_a_corrupt_file_is_copied_aside_and_started_afresh(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    path = hub_file(tmp_path / "state.sqlite")
    store = Store(path)
    for n in range(200):
        store.request(f"{TOPIC}{n}", CALLBACK, "subscribe", "x" * 100, 9, None, 1.0)
    store.close()
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # a page of garbage
    path.write_bytes(bytes(data))
    store = Store(path)
    try:
        assert store.pending() == 0
        assert list(tmp_path.glob("state.sqlite.hub.sqlite.corrupt-*"))
        assert "corrupt" in caplog.text
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        store.close()


def test_subscriptions_are_counted_by_callback_host_and_in_all(store: Store) -> None:
    subscribe(store, callback="https://Reader.example/a")
    subscribe(store, callback="https://reader.example:8443/b")
    store.request(TOPIC, "https://reader.example/c", "subscribe", None, 100, None, 1000.0)
    store.request(TOPIC, "https://reader.example/a", "unsubscribe", None, 100, None, 1000.0)
    subscribe(store, callback="https://other.example/a")
    assert (store.held_by("reader.example"), store.held_by("other.example"),
            store.total()) == (3, 1, 4)


V1 = """
CREATE TABLE hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE subscriptions (topic TEXT NOT NULL, callback TEXT NOT NULL, secret TEXT,
    lease_seconds INTEGER NOT NULL, expires REAL NOT NULL, verified REAL NOT NULL,
    PRIMARY KEY (topic, callback));
CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,
    callback TEXT NOT NULL, mode TEXT NOT NULL, secret TEXT, lease_seconds INTEGER NOT NULL,
    verify_token TEXT, received REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL, UNIQUE (topic, callback));
CREATE TABLE published (topic TEXT PRIMARY KEY, sha256 TEXT NOT NULL);
CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,
    callback TEXT NOT NULL, sha256 TEXT NOT NULL, queued REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, due REAL NOT NULL, last_error TEXT,
    UNIQUE (topic, callback));
INSERT INTO hub_meta VALUES ('schema', '1');
INSERT INTO subscriptions VALUES ('http://news.test/all.atom', 'https://Reader.example/cb',
    's1', 100, 99999999999, 1000);
"""


def test_a_file_of_the_first_schema_is_upgraded_keeping_its_subscriptions(tmp_path: Path
                                                                          ) -> None:
    path = hub_file(tmp_path / "state.sqlite")
    db = sqlite3.connect(path)
    db.executescript(V1)
    db.close()
    store = Store(path)
    try:
        kept = store.subscription(TOPIC, "https://Reader.example/cb")
        assert kept is not None and kept.secret == "s1"
        assert store.held_by("reader.example") == 1
    finally:
        store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM hub_meta WHERE key = 'schema'").fetchone() == ("2",)
    db.close()
