"""Text as lxml writes it, and dates as feedgen formats them: the pieces of the Atom and
RSS documents that ``render.entries`` and ``render.heads`` put together as strings.

Why strings: feedgen builds an lxml tree of every document and serializes it, about
40 µs an entry; a cold build renders half a million archived entries. Why exact:
feedgen stays the reference (``atom_rss._reference``) and the tests compare the two
byte for byte, so a published feed does not change with the way it was made.

What libxml2 escapes, with UTF-8 output (everything else, non-ASCII and astral
characters included, is written as it is): in text ``&`` ``<`` ``>`` and a carriage
return (``&#13;``, which a parser would otherwise turn into a newline); in an attribute
value also ``"`` and the newline and tab (``&#10;`` ``&#9;``, which attribute
normalisation would turn into spaces). Neither escapes ``'``. The seed reader lets no
other control character through, and XML 1.0 forbids them.

Dates: Atom's are ``datetime.isoformat()``, as feedgen writes them; RSS's are
``strftime("%a, %d %b %Y %H:%M:%S %z")`` under the C locale, which is English names
and ``+HHMM``, written here from the digits of ``isoformat()`` without switching the
process locale (feedgen's switch is process-global and takes a lock); ``strftime``
itself, for its digits only, where the two differ (a year before 1000, written
unpadded, or an offset with seconds).
"""

from __future__ import annotations

from datetime import datetime

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def text(value: str) -> str:
    """``value`` as lxml writes an element's text."""
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


def attr(value: str) -> str:
    """``value`` as lxml writes an attribute's value, between double quotes."""
    value = text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
    return value


def element(indent: str, name: str, value: str) -> str:
    """A text-only element on its own line, as a pretty-printed tree holds it (an empty
    text is written as a start and an end tag, as lxml does for ``""``)."""
    return f"{indent}<{name}>{text(value)}</{name}>\n"


def link(indent: str, name: str, href: str, rel: str | None = None,
         media_type: str | None = None) -> str:
    """An empty link element with its attributes in feedgen's order: href, rel, type."""
    rel_part = f' rel="{attr(rel)}"' if rel else ""
    type_part = f' type="{attr(media_type)}"' if media_type else ""
    return f'{indent}<{name} href="{attr(href)}"{rel_part}{type_part}/>\n'


def rfc822(moment: datetime, iso: str | None = None) -> str:
    """``moment`` as feedgen writes an RSS date: 'Sun, 01 Mar 2026 12:00:00 +0000';
    ``iso`` is its ``isoformat()``, if at hand (the digits are taken from it)."""
    iso = moment.isoformat() if iso is None else iso
    # 2026-03-01T12:00:00+00:00, or with .ffffff before the offset
    zone = iso[19:] if iso[19] != "." else iso[26:]
    if len(zone) != 6 or iso[0] == "0":
        # Seconds in the offset, or a year strftime writes unpadded: strftime's own
        # digits (locale-free), and the names from the tables.
        numbers = moment.strftime("%d %Y %H:%M:%S %z").split(" ", 1)
        return f"{_DAYS[moment.weekday()]}, {numbers[0]} {_MONTHS[moment.month - 1]} {numbers[1]}"
    return (f"{_DAYS[moment.weekday()]}, {iso[8:10]} {_MONTHS[moment.month - 1]} {iso[:4]} "
            f"{iso[11:19]} {zone[0]}{zone[1:3]}{zone[4:]}")
