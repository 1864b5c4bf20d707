"""The outbox: what each subscriber is owed, queued in one statement per topic; pushes
that finish together forgotten in one commit, each ``done`` returning only once its
row is gone from the file, and a failed commit leaving every delivery in it owed."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.push.outbox import Delivery, Outbox
from service.push.store import Store, StoreError, hub_file

TOPIC = "http://news.test/tags/harbour.atom"
NOW = 1000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(hub_file(tmp_path / "state.sqlite"))
    yield opened
    opened.close()


def subscribed(store: Store, count: int, expires: float = NOW + 100) -> list[str]:
    callbacks = [f"http://reader{n % 3}.example/cb/{n}" for n in range(count)]
    for callback in callbacks:
        store.request(TOPIC, callback, "subscribe", "s", 100, None, NOW)
    for pending in store.due(NOW):
        assert store.confirm(pending, expires - 100)
    return callbacks


def on_file(store: Store) -> set[int]:
    """The outbox's ids as another connection reads the file."""
    db = sqlite3.connect(f"{store.path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return {row[0] for row in db.execute("SELECT id FROM outbox")}
    finally:
        db.close()


def counting_commits(store: Store, monkeypatch: pytest.MonkeyPatch, hold: float = 0.0,
                     fail: bool = False) -> list[str]:
    """Every transaction's purpose, in order; the first that records pushes takes
    ``hold`` seconds more (so others finish meanwhile), and each fails if ``fail``."""
    doings: list[str] = []
    writing = store.writing

    @contextlib.contextmanager
    def counted(doing: str) -> Iterator[object]:
        doings.append(doing)
        with writing(doing) as db:
            yield db
            if doing == "record pushes" and doings.count(doing) == 1:
                time.sleep(hold)
            if fail:
                raise StoreError(f"hub database: could not {doing} (disk full)")

    monkeypatch.setattr(store, "writing", counted)
    return doings


def test_queue_owes_the_content_to_each_subscriber_whose_lease_runs(store: Store) -> None:
    callbacks = subscribed(store, 5)
    subscribed_late = "http://late.example/cb"
    store.request(TOPIC, subscribed_late, "subscribe", None, 100, None, NOW)
    (pending,) = store.due(NOW)
    assert store.confirm(pending, NOW - 200)  # its lease ended before NOW
    outbox = Outbox(store)
    assert outbox.queue({TOPIC: "a" * 64}, NOW) == 5
    first = outbox.due(NOW)
    assert sorted(d.callback for d in first) == sorted(callbacks)
    assert outbox.queue({TOPIC: "b" * 64}, NOW + 1) == 5  # replaces, never adds
    second = outbox.due(NOW + 1)
    assert len(second) == 5 and {d.sha256 for d in second} == {"b" * 64}
    assert not {d.id for d in first} & {d.id for d in second}  # the older cannot be done
    assert not any(outbox.done(d) for d in first) and outbox.pending() == 5
    assert outbox.published() == {TOPIC: "b" * 64}


def test_pushes_that_finish_together_are_forgotten_in_one_commit(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """One commit (one fsync) per push made a burst of 1,000 wait for 1,000 fsyncs."""
    subscribed(store, 20)
    outbox = Outbox(store)
    outbox.queue({TOPIC: "a" * 64}, NOW)
    deliveries = outbox.due(NOW)
    doings = counting_commits(store, monkeypatch, hold=0.3)
    answers: dict[int, bool] = {}
    gone_on_return: dict[int, bool] = {}

    def finish(delivery: Delivery) -> None:
        answers[delivery.id] = outbox.done(delivery)
        gone_on_return[delivery.id] = delivery.id not in on_file(store)

    first = threading.Thread(target=finish, args=(deliveries[0],))
    first.start()
    time.sleep(0.1)  # the first commit is under way: the others finish meanwhile
    threads = [threading.Thread(target=finish, args=(d,)) for d in deliveries[1:]]
    for thread in threads:
        thread.start()
    for thread in (first, *threads):
        thread.join(10)
    assert answers == {d.id: True for d in deliveries}
    assert all(gone_on_return.values())  # done() returned once its row was off the file
    assert outbox.pending() == 0 and on_file(store) == set()
    assert doings.count("record pushes") == 2  # the first alone, then all the others


def test_a_failed_commit_leaves_every_delivery_in_it_owed(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    subscribed(store, 6)
    outbox = Outbox(store)
    outbox.queue({TOPIC: "a" * 64}, NOW)
    deliveries = outbox.due(NOW)
    counting_commits(store, monkeypatch, hold=0.2, fail=True)
    errors: list[BaseException] = []

    def finish(delivery: Delivery) -> None:
        try:
            outbox.done(delivery)
        except StoreError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(d,)) for d in deliveries]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(10)
    assert len(errors) == 6 and "disk full" in str(errors[0])
    monkeypatch.undo()
    assert on_file(store) == {d.id for d in deliveries}  # all still owed
    assert all(outbox.done(d) for d in deliveries) and outbox.pending() == 0
