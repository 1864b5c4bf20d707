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
    log = FeedLog(place=key)
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
        log.change(new, lambda i: True, updated, {})  # none of them was in the feed
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
    log.change([edited], lambda i: True, lambda i: 99_999 if i == edited else updated(i),
               {edited: key(edited)})
    assert log.head(key)[0] == edited
    assert log.archives[0][0] == (edited, 0)  # the archive keeps the copy it froze


def test_a_deleted_entry_rewrites_only_the_archives_that_held_it():
    log = built(10)
    before = list(log.archives)
    gone = before[1][0][0]
    assert log.change([gone], lambda i: i != gone, updated, {gone: key(gone)}) == [2]
    assert log.archives[1] == before[1][1:]
    assert [b for n, b in enumerate(log.archives) if n != 1] == [
        b for n, b in enumerate(before) if n != 1]


def test_archived_entries_gone_while_no_publisher_ran_are_removed_at_start():
    log = built(10)
    restarted = FeedLog(log.archives, key)
    gone = log.archives[0][1][0]
    rewritten = restarted.start([i for i in ids(10) if i != gone], lambda i: i != gone,
                                updated)
    assert rewritten == [1]
    assert all(gone not in bucket.ids for bucket in restarted.archives)


@given(count=st.integers(0, 120), steps=st.lists(st.tuples(
    st.sampled_from(["arrive", "late", "edit", "delete", "back", "redate"]),
    st.integers(0, 10**6)), max_size=30))
def test_the_search_by_place_finds_what_a_scan_of_every_archive_finds(count, steps):
    """The log finds a frozen id's archives by its place; the same log with no places
    scans them all. Through arrivals (late ones too: an embargoed article released by a
    publisher that was down arrives at its release time, among the archived), edits
    (announced, frozen again), deletions, returns and moved dates, both decide alike,
    and hold every member once or more."""
    places = {i: key(i) for i in ids(count)}
    stamps = {i: updated(i) for i in places}
    members = set(places)
    searched, scanned = FeedLog(place=places.get), FeedLog()
    for log in (searched, scanned):
        log.start(sorted(members), members.__contains__, stamps.__getitem__)
        log.freeze(places.__getitem__, stamps.__getitem__, 4, 2)
    total = count
    for action, pick in steps:
        was = {i: places[i] for i in members}
        known = sorted(places)
        chosen = known[pick % len(known)] if known else None
        changed: set[str] = set()
        if action in ("arrive", "late") or chosen is None:
            new = f"a{total:05d}"
            total += 1
            places[new], stamps[new] = key(new), updated(new)
            if action == "late":
                places[new] = (-(pick % (total + 1)) - 0.5, 0.0, new)
            members.add(new)
            changed.add(new)
        elif action == "edit":
            stamps[chosen] = max(stamps.values()) + 1
            changed.add(chosen)
        elif action == "delete":
            members.discard(chosen)
            changed.add(chosen)
        elif action == "back":
            members.add(chosen)
            changed.add(chosen)
        else:  # its date moved: a new place
            places[chosen] = (places[chosen][0], float(-pick), chosen)
            stamps[chosen] = max(stamps.values()) + 1
            changed.add(chosen)
        before = {i: p for i, p in was.items() if i in changed}
        results = [log.change(sorted(changed), members.__contains__, stamps.__getitem__, before)
                   for log in (searched, scanned)]
        results += [log.freeze(places.__getitem__, stamps.__getitem__, 4, 2)
                    for log in (searched, scanned)]
        assert results[0] == results[1] and results[2] == results[3]
        assert searched.archives == scanned.archives
        assert searched.open == scanned.open and searched.announced == scanned.announced
        archived = {i for bucket in searched.archives for i in bucket.ids}
        assert archived <= members
        assert members <= archived | searched.open


def test_an_archive_out_of_arrival_order_is_still_found():
    """Articles released late (their publisher was down at their release time) arrive
    among the archived, so archives are not always in order of their newest entries:
    every archived entry edited is still found, and announced as a full scan would."""
    logs = []
    for search in (True, False):
        places = {i: key(i) for i in ids(40)}
        stamps = {i: updated(i) for i in places}
        log = FeedLog(place=places.get if search else None)
        log.start(sorted(places), places.__contains__, stamps.__getitem__)
        log.freeze(places.__getitem__, stamps.__getitem__, 4, 2)
        for n in range(40, 100):
            new = f"a{n:05d}"
            late = n % 3 == 0
            places[new] = (-(n % 37) - 0.5, 0.0, new) if late else key(new)
            stamps[new] = n
            log.change([new], places.__contains__, stamps.__getitem__, {})
            log.freeze(places.__getitem__, stamps.__getitem__, 4, 2)
        for article_id in sorted(places):
            if article_id not in log.open:
                stamps[article_id] = 10**6
                log.change([article_id], places.__contains__, stamps.__getitem__,
                           {article_id: places[article_id]})
        logs.append(log)
    assert logs[0].announced == logs[1].announced and len(logs[0].announced) > 40
    assert logs[0].archives == logs[1].archives
