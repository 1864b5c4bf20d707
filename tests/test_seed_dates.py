"""Release times as people write them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.seed.dates import parse_release_time

UTC8 = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("written", "expected"), [
    ("Apr 14, 2024 03:24 AM", datetime(2024, 4, 14, 3, 24, tzinfo=UTC)),
    ("Apr 14, 2024 03:24 PM", datetime(2024, 4, 14, 15, 24, tzinfo=UTC)),
    ("Apr 14, 2024 12:05 AM", datetime(2024, 4, 14, 0, 5, tzinfo=UTC)),
    ("April 4, 2024 9:05", datetime(2024, 4, 4, 9, 5, tzinfo=UTC)),
    ("Sept 30 2024", datetime(2024, 9, 30, tzinfo=UTC)),
    ("2024-04-14 03:24", datetime(2024, 4, 14, 3, 24, tzinfo=UTC)),
    ("2024-04-14T03:24:30+08:00", datetime(2024, 4, 14, 3, 24, 30, tzinfo=UTC8)),
    ("2024-04-14T03:24:30Z", datetime(2024, 4, 14, 3, 24, 30, tzinfo=UTC)),
    ("2024年4月14日 03:24", datetime(2024, 4, 14, 3, 24, tzinfo=UTC)),
    ("2024年04月14日", datetime(2024, 4, 14, tzinfo=UTC)),
    ("2024/4/14 03:24", datetime(2024, 4, 14, 3, 24, tzinfo=UTC)),
])
def test_written_forms_parse(written, expected):
    assert parse_release_time(written, UTC) == expected


@pytest.mark.parametrize("written", ["", "soon", "Foo 14, 2024", "2024-02-30 10:00",
                                     "Apr 14, 2024 13:00 PM", "2024年13月1日"])
def test_impossible_or_unknown_times_raise_value_error(written):
    with pytest.raises(ValueError):
        parse_release_time(written, UTC)


@pytest.mark.parametrize(("written", "expected"), [
    # The dump's own shape has a fast path; its neighbours take the general way.
    ("Dec 31, 2024 12:59 PM", datetime(2024, 12, 31, 12, 59, tzinfo=UTC8)),
    ("Jan 1, 2025 12:00 AM", datetime(2025, 1, 1, 0, 0, tzinfo=UTC8)),
    ("Sept 3, 2023 01:02 AM", datetime(2023, 9, 3, 1, 2, tzinfo=UTC8)),
    ("apr 14, 2024 03:24 am", datetime(2024, 4, 14, 3, 24, tzinfo=UTC8)),
    ("Apr 14, 2024 03:24:59 PM", datetime(2024, 4, 14, 15, 24, 59, tzinfo=UTC8)),
    ("Apr 14 2024 03:24 PM", datetime(2024, 4, 14, 15, 24, tzinfo=UTC8)),
    ("Apr 14, 2024  03:24 PM", datetime(2024, 4, 14, 15, 24, tzinfo=UTC8)),
    ("Apr ١٤, 2024 03:24 AM", datetime(2024, 4, 14, 3, 24, tzinfo=UTC8)),  # other digits
])
def test_the_dump_shape_and_its_neighbours_parse_alike(written, expected):
    parsed = parse_release_time(written, UTC8)
    assert parsed == expected and parsed.tzinfo is UTC8


@pytest.mark.parametrize(("written", "message"), [
    ("Foo 14, 2024 03:24 AM", "unknown month"),
    ("Apr 14, 2024 13:24 PM", "does not fit AM/PM"),
    ("Apr 14, 2024 00:24 AM", "does not fit AM/PM"),
    ("Feb 30, 2024 01:00 AM", "impossible"),
])
def test_the_dump_shape_leaves_its_errors_to_the_general_way(written, message):
    with pytest.raises(ValueError, match=message):
        parse_release_time(written, UTC)
