"""Release times as people write them, to aware datetimes.

Month names are matched here rather than with ``strptime('%b')``, whose result
depends on the process locale (which feedgen switches while rendering RSS).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

_MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
    ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
    ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
    ("dec", "december")), start=1) for name in names}

_TIME = r"(?:[ T,]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
_ENGLISH = re.compile(r"(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+"
                      r"(?P<y>\d{4})" + _TIME + r"\s*$")
_CHINESE = re.compile(r"(?P<y>\d{4})\s*年\s*(?P<mo>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?"
                      + _TIME.replace("[ T,]+", r"\s*") + r"\s*$")
# 'Apr 14, 2024 03:24 AM' exactly: ASCII digits only (``\d`` takes any script's digits).
_DUMP_SHAPE = re.compile(
    r"([A-Za-z]{3,9}) ([0-9]{1,2}), ([0-9]{4}) ([0-9]{1,2}):([0-9]{2}) ([AP]M)")
_SLASHED = re.compile(r"(?P<y>\d{4})[/.](?P<mo>\d{1,2})[/.](?P<d>\d{1,2})" + _TIME + r"\s*$")


def parse_release_time(raw: str, default_tz: tzinfo) -> datetime:
    """Parse one release time; naive times are in ``default_tz``. Raises ValueError,
    also for a time that leaves years 1 to 9999 once in UTC (as ids and feeds show it)."""
    value = _parse(raw.strip(), default_tz)
    if value.year not in (1, 9999):  # only the first and last year can overflow in UTC
        return value
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"release time {raw.strip()!r} is out of range: in UTC it falls "
                         "outside the years 1 to 9999") from None
    return value


def _parse(text: str, default_tz: tzinfo) -> datetime:
    if not text:
        raise ValueError("the release time is empty")
    if (value := _parse_dump_shape(text, default_tz)) is not None:
        return value
    if text[0].isdigit():
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = _parse_written(text)
    else:
        value = _parse_written(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=default_tz)
    return value


def _parse_dump_shape(text: str, tz: tzinfo) -> datetime | None:
    """The news dumps' own shape, 'Apr 14, 2024 03:24 AM', by a simpler regex than
    ``_ENGLISH`` (twice as fast); None for anything else, or anything wrong, which the
    general way then parses or explains. What this regex matches, ``_ENGLISH`` matches
    with the same groups: it is that regex's common case, in ASCII only."""
    match = _DUMP_SHAPE.fullmatch(text)
    if match is None:
        return None
    mon, day, year, hour, minute, ampm = match.groups()
    month, hour_number = _MONTHS.get(mon.lower()), int(hour)
    if month is None or not 1 <= hour_number <= 12:
        return None  # the general way says what is wrong
    hour_number = hour_number % 12 + (12 if ampm == "PM" else 0)
    try:
        return datetime(int(year), month, int(day), hour_number, int(minute), 0, 0, tz)
    except ValueError:
        return None


def _parse_written(text: str) -> datetime:
    match = _ENGLISH.match(text)
    if match:
        month = _MONTHS.get(match["mon"].lower())
        if month is None:
            raise ValueError(f"unknown month {match['mon']!r} in release time {text!r}")
    else:
        match = _CHINESE.match(text) or _SLASHED.match(text)
        if match is None:
            raise ValueError(f"unrecognised release time {text!r} (write it like "
                             "'Apr 14, 2024 03:24 AM' or '2024-04-14 03:24')")
        month = int(match["mo"])
    hour = int(match["h"] or 0)
    if match["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError(f"hour {hour} does not fit AM/PM in release time {text!r}")
        hour = hour % 12 + (12 if match["ampm"][0] in "Pp" else 0)
    try:
        return datetime(int(match["y"]), month, int(match["d"]), hour,
                        int(match["mi"] or 0), int(match["s"] or 0))
    except ValueError as exc:
        raise ValueError(f"impossible release time {text!r}: {exc}") from None
