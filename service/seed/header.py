"""A header line to its headline and tags, by the rules of DESIGN section 1.

``split_header`` is the rule; ``split_header_with`` is the same for a caller that
already knows the header is plain (printable, no double space), which lets the
common case skip most of the cleaning. Tag-likeness is cached per segment, as the
same few hundred tags recur in every file.
"""

from __future__ import annotations

import functools
import re
from typing import cast

from service.identity import tag_key
from service.seed.text import clean, is_printable

_SENTENCE_END = ".!?。！？"
_SENTENCE_MARK = re.compile("[.!?。！？]")


def split_header(header: str) -> tuple[str, tuple[str, ...]]:
    """Headline and tags of a header line, by the rules of DESIGN section 1."""
    return split_header_with(header, "  " not in header and is_printable(header))


def split_header_with(header: str, plain: bool) -> tuple[str, tuple[str, ...]]:
    """``split_header``; ``plain``: the header is printable and has no double space, so
    clean() of any piece of it is just strip(), and its only space is " "."""
    headline, tags = _split(header, plain)
    if tags and ("," in header or "，" in header):
        tags = split_commas(tags)
    return headline, tags


def split_commas(tags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Tags with a comma (ASCII or full-width) in them, split there: readers (FreshRSS
    among them) split category labels on commas, so `Ports, Docks` would be two tags
    there and one here; it is two everywhere."""
    return unique_tags([clean(part) for tag in tags for part in _COMMA.split(tag)])


def _split(header: str, plain: bool) -> tuple[str, tuple[str, ...]]:
    if "|" not in header and "｜" not in header:
        return clean(header), ()
    # Both separators are one character: split a copy, cut the original at the same offsets.
    parts = header.replace("｜", "|").split("|")
    # Every segment but the first, as (tag key, tag) if tag-like, else None. Mapping the
    # cached _as_tag over all of them runs in C; the walk from the right then only has
    # to find the last None (segments left of it are computed but never used).
    found = list(map(_as_tag, parts[1:]))
    if found[-1] is None:
        return clean(header), ()
    if None in found:
        j = len(found) - found[::-1].index(None)  # parts[j]: the segment left of the tags
        found = found[j:]
    else:
        j = 0
    tagged = cast("list[tuple[str, str]]", found)  # right of the last None: tags only
    segment = parts[j].rstrip()
    # The glued tag starts after the last sentence end, or else after the last space.
    # (A few backward searches for one character each are faster than a regex, and
    # the full-width marks cannot be in an ASCII string.)
    end = (max(segment.rfind("."), segment.rfind("!"), segment.rfind("?")) if segment.isascii()
           else max(map(segment.rfind, _SENTENCE_END)))
    if plain and j == 0:
        # The common case, in fewer steps: the headline is the start of the first
        # segment, which holds no separator, and clean() is strip(); single spaces only,
        # so the last word is what follows the last space.
        if end >= 0:
            headline, glued = segment[:end + 1].strip(), segment[end + 1:].lstrip()
        else:
            headline, _, glued = segment.rpartition(" ")
            headline = headline.strip()
    else:
        segment_start = sum(map(len, parts[:j])) + j
        start = end + 1 if end >= 0 else max(
            segment.rfind(" "), segment.rfind("\t"), segment.rfind("\u3000")) + 1
        if plain:
            glued = segment[start:].lstrip()
            headline = header[:segment_start + start].rstrip().rstrip("|｜").strip()
        else:
            glued = clean(segment[start:])
            headline = clean(header[:segment_start + start].rstrip().rstrip("|｜"))
    if not (glued and headline):
        headline = clean(header[:sum(map(len, parts[:j + 1])) + j].rstrip().rstrip("|｜"))
        glued = ""
    by_key = dict(tagged)
    if len(by_key) == len(tagged) and "" not in by_key and (
            not glued or tag_key(glued) not in by_key):
        # The common case: no empty tag, no two of one identity. (An empty tag's key is
        # empty; a tag whose key alone is empty takes the general way, to the same result.)
        return headline, ((glued, *by_key.values()) if glued else tuple(by_key.values()))
    tags = [tag for _, tag in tagged]
    return headline, unique_tags([glued, *tags] if glued else tags)


_COMMA = re.compile("[,，]")


@functools.lru_cache(maxsize=16384)
def _as_tag(segment: str) -> tuple[str, str] | None:
    """(tag key, tag) of the segment if it is tag-like (at most 4 words and 40
    characters, no sentence end), else None. Cached: the same few hundred tags recur
    in every file, and the key is what ``unique_tags`` needs of them."""
    text = clean(segment)
    if len(text) <= 40 and _SENTENCE_MARK.search(text) is None and text.count(" ") <= 3:
        return tag_key(text), text
    return None


def unique_tags(tags: list[str]) -> tuple[str, ...]:
    """Tags in order, each identity once (the first spelling wins), none empty."""
    if "" not in tags and len(set(map(tag_key, tags))) == len(tags):
        return tuple(tags)  # the common case
    seen: dict[str, str] = {}
    for tag in tags:
        if tag:
            seen.setdefault(tag_key(tag), tag)
    return tuple(seen.values())
