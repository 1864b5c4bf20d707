"""Display text: one clean line, a summary, a headline of bounded length.

Shared by both formats and by the header split. ``clean`` is called for every
headline, tag and summary, so its gate (``is_printable``) is the fast one: a
translate in C on ASCII text, the regexes only on unusual text. Paragraph lines are
rejoined here too, the same way for the dump and for front-matter bodies.
"""

from __future__ import annotations

import re

from service.seed.problems import Problem, warning

MAX_HEADLINE = 500  # characters; a longer header line is shortened, with a warning
SUMMARY_LENGTH = 280

# Zero-width and bidirectional-override characters: invisible, and hostile in a title.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))  # what str.isprintable() accepts of ASCII


def clean(text: str) -> str:
    """One line of display text: no control or invisible characters, single spaces."""
    if is_printable(text):  # C-speed gate: the regexes run only on unusual text
        return _single_spaced(text)
    return " ".join(_CONTROL.sub(" ", _INVISIBLE.sub("", text)).split())


def _single_spaced(text: str) -> str:
    """``clean()`` of printable text, whose only space character is the ASCII space."""
    return text if "  " not in text and text == text.strip() else " ".join(text.split())


def is_printable(text: str) -> bool:
    """``text.isprintable()``, several times faster on ASCII text (most text here):
    instead of a Unicode database lookup per character, the printable bytes are
    deleted in C and what is left, if anything, is a control character."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return text.isprintable()


def checked_headline(headline: str, paragraphs: list[str], path: str, line: int,
                     notes: list[Problem]) -> str:
    """The headline, shortened if too long; warns of that and of an empty body."""
    if len(headline) > MAX_HEADLINE:
        notes.append(warning(path, line, f"headline is {len(headline):,} characters long; "
                                         f"shortened to {MAX_HEADLINE}"))
        headline = _shorten(headline, MAX_HEADLINE)
    if not paragraphs:
        notes.append(warning(path, line, f"article {headline[:60]!r} has no body text"))
    return headline


def summary_of(paragraphs: list[str], printable: bool = False) -> str:
    """The first paragraph, shortened; only what can reach the summary is cleaned.
    ``printable``: the paragraphs are known to be, no need to look."""
    if not paragraphs:
        return ""
    text = paragraphs[0]
    if len(text) <= SUMMARY_LENGTH:
        return _single_spaced(text) if printable else clean(text)
    cut = _cut(text, SUMMARY_LENGTH)
    if printable or is_printable(cut):
        # The same as clean(cut + "…"), as the cut does not end in a space, but ASCII
        # text stays ASCII for the fast printable check (the ellipsis is not).
        return _single_spaced(cut) + "…"
    return clean(cut + "…")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else _cut(text, limit) + "…"


def _cut(text: str, limit: int) -> str:
    """The start of a text longer than ``limit``, to which an ellipsis is added: cut at
    a space if one is in the second half, never ending in a space."""
    space = text.rfind(" ", 0, limit - 1)
    return (text[:space] if space > limit // 2 else text[:limit - 1]).rstrip()


def join_lines(chunk: list[str]) -> str:
    """A paragraph's lines, rejoined: a space between words, none between CJK lines."""
    if len(chunk) == 1:
        return chunk[0]
    out = chunk[0]
    for text in chunk[1:]:
        out += ("" if out[-1] >= "\u2e80" and text[0] >= "\u2e80" else " ") + text
    return out
