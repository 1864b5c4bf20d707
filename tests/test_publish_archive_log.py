"""The archive log on its own (publish/archives.py, a pure decider): what it freezes,
what the subscription document keeps, and what a change does to frozen archives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.publish.archives import FeedLog


def ids(count: int) -> list[str]:
    return [f"a{n:05d}" for n in range(count)]


def key(article_id: str) -> tuple[float, float, str]:
    """Article aNNNNN arrived at second NNNNN: the larger the number, the newer."""
    number = float(article_id[1:])
    return (-number, -number, article_id)


def updated(article_id: str) -> int:
    return int(article_id[1:])


def built(count: int, entries: int = 4, size: int = 2) -> FeedLog:
    log = FeedLog()
    log.start(ids(count), lambda i: True, updated)
    log.freeze(key, updated, entries, size)
    return log


@given(count=st.integers(0, 300), entries=st.integers(1, 60), size=st.integers(1, 80))
def test_the_archives_and_the_document_hold_every_arrival_once_in_order(count, entries, size):
    log = built(count, entries, size)
    archived = [i for bucket in log.archives for i, _ in bucket]
    head = log.head(key)
    assert archived + head[::-1] == ids(count)  # oldest archive first, then the document
    size = min(size, entries)
    assert all(len(bucket) == size for bucket in log.archives)
    assert len(head) <= entries
    assert not log.archives or len(head) > entries - size


@given(count=st.integers(0, 200), steps=st.lists(st.integers(1, 9), max_size=12))
def test_arrivals_one_batch_at_a_time_never_change_a_frozen_archive(count, steps):
    log = built(count)
    frozen = list(log.archives)
    total = count
    for step in steps:
        new = [f"a{n:05d}" for n in range(total, total + step)]
        total += step
        log.change(new, lambda i: True, updated)
        log.freeze(key, updated, 4, 2)
        assert log.archives[:len(frozen)] == frozen
        frozen = list(log.archives)
    assert [i for b in log.archives for i, _ in b] + log.head(key)[::-1] == ids(total)


def test_a_rank_gives_the_archives_the_key_gives():
    order = ids(5000)
    rank = {i: n for n, i in enumerate(sorted(order, key=key))}.__getitem__
    with_key, with_rank = FeedLog(), FeedLog()
    for log in (with_key, with_rank):
        log.start(order, lambda i: True, updated)
    with_key.freeze(key, updated, 50, 25)
    with_rank.freeze(key, updated, 50, 25, rank)
    assert with_rank.archives == with_key.archives and with_rank.open == with_key.open


def test_an_edited_archived_entry_is_announced_again_at_the_head():
    log = built(10)
    edited = log.archives[0][0][0]
    log.change([edited], lambda i: True, lambda i: 99_999 if i == edited else updated(i))
    assert log.head(key)[0] == edited
    assert log.archives[0][0] == (edited, 0)  # the archive keeps the copy it froze


def test_a_deleted_entry_rewrites_only_the_archives_that_held_it():
    log = built(10)
    before = list(log.archives)
    gone = before[1][0][0]
    assert log.change([gone], lambda i: i != gone, updated) == [2]
    assert log.archives[1] == before[1][1:]
    assert [b for n, b in enumerate(log.archives) if n != 1] == [
        b for n, b in enumerate(before) if n != 1]


def test_archived_entries_gone_while_no_publisher_ran_are_removed_at_start():
    log = built(10)
    restarted = FeedLog(log.archives)
    gone = log.archives[0][1][0]
    rewritten = restarted.start([i for i in ids(10) if i != gone], lambda i: i != gone,
                                updated)
    assert rewritten == [1] and gone not in restarted.frozen
