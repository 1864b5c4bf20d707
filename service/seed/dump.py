"""The news dump (DESIGN section 1): a file's lines to its articles.

Headers that carry headline and tags are marked by a doubled line or a following
``Release time:`` line; body paragraphs are separated by blank lines; page
furniture (the running header of a paginated page) and a dangling bracket at an
article's end are dropped. This is the reader's hot path: one walk over the lines,
then each step made for all articles at once (see ``parse_dump``).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from itertools import repeat

from service.identity import article_ids
from service.model import Article
from service.seed.dates import parse_release_time
from service.seed.header import split_header_with
from service.seed.problems import Problem, warning
from service.seed.text import MAX_HEADLINE, checked_headline, is_printable, join_lines, summary_of

_RELEASE = re.compile(r"(?:release\s*time|发布时间|發佈時間|發布時間)\s*[:：]\s*(.*)", re.I)
_RELEASE_FIRST = frozenset("Rr发發")
_DANGLING = ("【", "[")


def parse_dump(lines: list[str], path: str, tz: tzinfo, notes: list[Problem],
               printable: bool = False) -> list[Article]:
    """The articles of a news dump; ``printable``: every line is known printable.

    Two passes: the walk over the lines finds each article's header, release time
    and body, then the articles are made one step at a time for all of them (every
    headline split, then every id, every summary, every Article). The result is the
    same as making each article as the walk finds it, with its warnings in the same
    order, but the reader is a fifth faster: each pass is a short loop over one
    function and its data, which stay in the CPU's caches.
    """
    found = _walk(lines, path, tz)
    headers, header_lines, published, paragraphs, release_notes = zip(*found, strict=True)
    heads = [split_header_with(header, "  " not in header and (printable or is_printable(header)))
             for header in headers]
    headlines, tags = zip(*heads, strict=True)
    if (any(release_notes) or not all(headlines) or not all(paragraphs)
            or max(map(len, headlines)) > MAX_HEADLINE):
        # Something to warn about: make them one by one, the warnings in their order.
        kept = []
        for (headline, tag_names), line, when, body, note in zip(
                heads, header_lines, published, paragraphs, release_notes, strict=True):
            if note is not None:
                notes.append(note)
            if not headline:
                notes.append(warning(path, line, "header has no headline; article skipped"))
                continue
            kept.append((checked_headline(headline, body, path, line, notes), tag_names,
                         when, body, line))
        if not kept:
            return []
        headlines, tags, published, paragraphs, header_lines = zip(*kept, strict=True)
    ids = article_ids(headlines, published)
    summaries = list(map(summary_of, paragraphs, repeat(printable)))
    # Positional: keyword arguments cost a dataclass __init__ three times as much (the
    # order is Article's: id, title, tags, published, paragraphs, summary, source, line).
    return list(map(Article, ids, headlines, tags, published, map(tuple, paragraphs),
                    summaries, repeat(path), header_lines))


def _walk(lines: list[str], path: str, tz: tzinfo) -> list[tuple[
        str, int, datetime | None, list[str], Problem | None]]:
    """Walk the lines once: each article's header, header line number, release time,
    paragraphs, and the warning its release time deserves, if any.

    Release-time lines are looked for only where they matter, right after a header
    and right after a body line (which they would make a header), instead of in a
    separate pass over every line: the walk is a large part of the reader's time.
    """
    s = list(map(str.strip, lines))
    n = len(s)
    s += ("", "")  # sentinels: looking one or two lines past a line never runs off
    i = next(k for k in range(n) if s[k])  # the first non-blank line is always a header
    found = []
    while i < n:
        header = s[i]
        j = i + 2 if s[i + 1] == header else i + 1
        # Its release time, if the next non-blank line is one (which also makes the
        # header a header; for a doubled header, the copy is right before it).
        published = note = None
        k = j if s[j] else j + 1  # the next non-blank line: mostly one of these two
        while k < n and not s[k]:
            k += 1
        if s[k][:1] in _RELEASE_FIRST and (release := _release(s[k])) is not None:
            try:
                published = parse_release_time(release, tz)
            except ValueError as exc:
                note = warning(path, k + 1, f"{exc}; the article is dated when first seen")
            j = k + 1
        paragraphs: list[str] = []
        chunk: list[str] = []
        while j < n:
            text = s[j]
            if not text or text == header:  # blank line, or page furniture
                if chunk:
                    paragraphs.append(chunk[0] if len(chunk) == 1 else join_lines(chunk))
                    chunk = []
                # Fast path for the common shape, a one-line paragraph and a blank line,
                # taken two lines at a time with what the steps below would do: such a
                # line is not doubled (a blank follows) and ends no chunk but its own.
                while (text := s[j + 1]) and not s[j + 2]:
                    if text != header:
                        after = s[j + 3]  # the next non-blank line, in the common case
                        if (not after or after[:1] in _RELEASE_FIRST) and _before_release(
                                s, j + 1, n):
                            break  # it is the next article's header: the steps decide
                        paragraphs.append(text)
                    j += 2
            elif s[j + 1] == text or _before_release(s, j, n):
                break  # the next article's header
            else:
                chunk.append(text)
            j += 1
        if chunk:
            paragraphs.append(chunk[0] if len(chunk) == 1 else join_lines(chunk))
        if paragraphs and paragraphs[-1].endswith(_DANGLING):
            paragraphs[-1] = paragraphs[-1][:-1].rstrip()
            if not paragraphs[-1]:
                paragraphs.pop()
        found.append((header, i + 1, published, paragraphs, note))
        i = j
    return found


def _release(text: str) -> str | None:
    """The time as written, if the (stripped) line is a release-time line."""
    if text[:1] in _RELEASE_FIRST and (match := _RELEASE.fullmatch(text)):
        return match[1]
    return None


def _before_release(s: list[str], j: int, n: int) -> bool:
    """True if the next non-blank line after line ``j`` is a release-time line (which
    makes line ``j`` a header)."""
    k = j + 1
    while k < n and not s[k]:
        k += 1
    return k < n and _release(s[k]) is not None
