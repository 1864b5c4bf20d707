"""The seed format: a file's bytes to articles (DESIGN section 1).

Two formats share one entry point. The news dump: headers that carry headline
and tags, marked by a doubled line or a following ``Release time:`` line, body
paragraphs separated by blank lines, page furniture (the running header of a
paginated page) dropped. And one article with YAML front matter, for people who
write by hand. Everything returns values; the only I/O is ``read_seed``.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from itertools import repeat
from pathlib import Path
from urllib.parse import urlsplit

from service.identity import article_id, article_ids, tag_key
from service.model import Article
from service.seed.dates import parse_release_time
from service.seed.decoding import BinaryFile, decode
from service.seed.frontmatter import KNOWN_KEYS, FrontMatterError, key_lines, split_front_matter
from service.seed.problems import Problem, error, warning

MAX_HEADLINE = 500  # characters; a longer header line is shortened, with a warning
SUMMARY_LENGTH = 280
MARKDOWN_SUFFIXES = (".md", ".markdown")

_SEPARATOR = re.compile("[|｜]")
_SENTENCE_END = ".!?。！？"
_SENTENCE_MARK = re.compile("[.!?。！？]")
_RELEASE = re.compile(r"(?:release\s*time|发布时间|發佈時間|發布時間)\s*[:：]\s*(.*)", re.I)
_RELEASE_FIRST = frozenset("Rr发發")
_DANGLING = ("【", "[")
# Zero-width and bidirectional-override characters: invisible, and hostile in a title.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))  # what str.isprintable() accepts of ASCII


@dataclass(frozen=True)
class SeedFile:
    """What one seed file publishes, and what the reader noticed on the way."""

    path: str
    articles: tuple[Article, ...]
    warnings: tuple[Problem, ...]
    encoding: str


def read_seed(file: Path, name: str | None = None, *, timezone: tzinfo = UTC,
              max_size: int = 10 * 1024 * 1024) -> SeedFile:
    """Read and parse one seed file; any failure is a ``SeedError`` naming it."""
    name = str(file) if name is None else name
    try:
        with open(file, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > max_size:
                raise error(name, None, f"file is {_mib(size)}, over the {_mib(max_size)} "
                                        "limit (setting max_file_size)")
            data = stream.read(max_size + 1)
    except FileNotFoundError:
        raise error(name, None, "file vanished before it could be read") from None
    except IsADirectoryError:
        raise error(name, None, "is a folder, not a file") from None
    except PermissionError:
        raise error(name, None, "permission denied") from None
    except OSError as exc:
        raise error(name, None, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_size:
        raise error(name, None, f"file grew past the {_mib(max_size)} limit while being read")
    return parse_seed(data, name, timezone=timezone)


def parse_seed(data: bytes, path: str, *, timezone: tzinfo = UTC) -> SeedFile:
    """Parse a seed file's bytes; ``path`` names it in every message and article."""
    try:
        decoded = decode(data)
    except BinaryFile as exc:
        raise error(path, exc.line, str(exc)) from None
    notes = [warning(path, line, message) for line, message in decoded.notes]
    lines = decoded.text.split("\n")
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    if first is None:
        notes.append(warning(path, None, "empty file: nothing to publish yet"))
        return SeedFile(path, (), tuple(notes), decoded.encoding)
    if first == 0 and lines[0].strip() == "---":
        articles = _parse_structured(lines, path, timezone, notes)
    else:
        articles = _parse_dump(lines, path, timezone, notes, decoded.printable)
    return SeedFile(path, tuple(articles), tuple(notes), decoded.encoding)


# --- the news dump -----------------------------------------------------------

def _parse_dump(lines: list[str], path: str, tz: tzinfo, notes: list[Problem],
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
    heads = [_split_header(header, "  " not in header and (printable or _isprintable(header)))
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
            kept.append((_checked_headline(headline, body, path, line, notes), tag_names,
                         when, body, line))
        if not kept:
            return []
        headlines, tags, published, paragraphs, header_lines = zip(*kept, strict=True)
    ids = article_ids(headlines, published)
    summaries = list(map(_summary, paragraphs, repeat(printable)))
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
                    paragraphs.append(chunk[0] if len(chunk) == 1 else _join(chunk))
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
            paragraphs.append(chunk[0] if len(chunk) == 1 else _join(chunk))
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


def _join(chunk: list[str]) -> str:
    """A paragraph's lines, rejoined: a space between words, none between CJK lines."""
    if len(chunk) == 1:
        return chunk[0]
    out = chunk[0]
    for text in chunk[1:]:
        out += ("" if out[-1] >= "\u2e80" and text[0] >= "\u2e80" else " ") + text
    return out


def split_header(header: str) -> tuple[str, tuple[str, ...]]:
    """Headline and tags of a header line, by the rules of DESIGN section 1."""
    return _split_header(header, "  " not in header and _isprintable(header))


def _split_header(header: str, plain: bool) -> tuple[str, tuple[str, ...]]:
    """``split_header``; ``plain``: the header is printable and has no double space, so
    clean() of any piece of it is just strip(), and its only space is " "."""
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
    by_key = dict(found)
    if len(by_key) == len(found) and "" not in by_key and (
            not glued or tag_key(glued) not in by_key):
        # The common case: no empty tag, no two of one identity. (An empty tag's key is
        # empty; a tag whose key alone is empty takes the general way, to the same result.)
        return headline, ((glued, *by_key.values()) if glued else tuple(by_key.values()))
    tags = [tag for _, tag in found]
    return headline, _unique([glued, *tags] if glued else tags)


@functools.lru_cache(maxsize=16384)
def _as_tag(segment: str) -> tuple[str, str] | None:
    """(tag key, tag) of the segment if it is tag-like (at most 4 words and 40
    characters, no sentence end), else None. Cached: the same few hundred tags recur
    in every file, and the key is what ``_unique`` needs of them."""
    text = clean(segment)
    if len(text) <= 40 and _SENTENCE_MARK.search(text) is None and text.count(" ") <= 3:
        return tag_key(text), text
    return None


def clean(text: str) -> str:
    """One line of display text: no control or invisible characters, single spaces."""
    if _isprintable(text):  # C-speed gate: the regexes run only on unusual text
        return _single_spaced(text)
    return " ".join(_CONTROL.sub(" ", _INVISIBLE.sub("", text)).split())


def _single_spaced(text: str) -> str:
    """``clean()`` of printable text, whose only space character is the ASCII space."""
    return text if "  " not in text and text == text.strip() else " ".join(text.split())


def _isprintable(text: str) -> bool:
    """``text.isprintable()``, several times faster on ASCII text (most text here):
    instead of a Unicode database lookup per character, the printable bytes are
    deleted in C and what is left, if anything, is a control character."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return text.isprintable()


def _unique(tags: list[str]) -> tuple[str, ...]:
    """Tags in order, each identity once (the first spelling wins), none empty."""
    if "" not in tags and len(set(map(tag_key, tags))) == len(tags):
        return tuple(tags)  # the common case
    seen: dict[str, str] = {}
    for tag in tags:
        if tag:
            seen.setdefault(tag_key(tag), tag)
    return tuple(seen.values())


def _make(headline: str, tags: tuple[str, ...], published, paragraphs: list[str], path: str,
          line: int, notes: list[Problem], *, summary: str = "", markup: str = "text",
          link: str | None = None, author: str | None = None) -> Article:
    """One article, with the warnings it deserves (the dump makes its own in bulk)."""
    headline = _checked_headline(headline, paragraphs, path, line, notes)
    return Article(article_id(headline, published), headline, tags, published,
                   tuple(paragraphs), summary or _summary(paragraphs), path, line,
                   markup, link, author)


def _checked_headline(headline: str, paragraphs: list[str], path: str, line: int,
                      notes: list[Problem]) -> str:
    """The headline, shortened if too long; warns of that and of an empty body."""
    if len(headline) > MAX_HEADLINE:
        notes.append(warning(path, line, f"headline is {len(headline):,} characters long; "
                                         f"shortened to {MAX_HEADLINE}"))
        headline = _shorten(headline, MAX_HEADLINE)
    if not paragraphs:
        notes.append(warning(path, line, f"article {headline[:60]!r} has no body text"))
    return headline


def _summary(paragraphs: list[str], printable: bool = False) -> str:
    """The first paragraph, shortened; only what can reach the summary is cleaned.
    ``printable``: the paragraphs are known to be, no need to look."""
    if not paragraphs:
        return ""
    text = paragraphs[0]
    if len(text) <= SUMMARY_LENGTH:
        return _single_spaced(text) if printable else clean(text)
    cut = _cut(text, SUMMARY_LENGTH)
    if printable or _isprintable(cut):
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


# --- one article with front matter -------------------------------------------

def _parse_structured(lines: list[str], path: str, tz: tzinfo,
                      notes: list[Problem]) -> list[Article]:
    try:
        matter = split_front_matter(lines)
    except FrontMatterError as exc:
        raise error(path, exc.line, str(exc)) from None
    fields, where = matter.fields, key_lines(lines)
    for key in sorted(set(fields) - KNOWN_KEYS):
        notes.append(warning(path, where.get(key, 1), f"unknown front matter key {key!r} ignored"))
    title = clean(_scalar(fields, "title", where, path))
    if not title:
        raise error(path, where.get("title", 1), "front matter has no title")
    tags = _front_matter_tags(fields.get("tags"), where.get("tags", 1), path)
    published = None
    if raw_date := _scalar(fields, "date", where, path):
        try:
            published = parse_release_time(raw_date, tz)
        except ValueError as exc:
            raise error(path, where.get("date", 1), str(exc)) from None
    markup = _scalar(fields, "format", where, path).lower() or (
        "markdown" if path.lower().endswith(MARKDOWN_SUFFIXES) else "text")
    if markup not in ("text", "markdown"):
        raise error(path, where.get("format", 1),
                    f"format must be text or markdown, not {markup!r}")
    link = _scalar(fields, "link", where, path) or None
    if link is not None and not _safe_url(link):
        notes.append(warning(path, where.get("link", 1),
                             f"link {link[:80]!r} is not an absolute http(s) URL; ignored"))
        link = None
    paragraphs = _blocks(matter.body, markup)
    return [_make(title, tags, published, paragraphs, path, where.get("title", 1), notes,
                  summary=clean(_scalar(fields, "summary", where, path)), markup=markup,
                  link=link, author=clean(_scalar(fields, "author", where, path)) or None)]


def _scalar(fields: dict[str, object], key: str, where: dict[str, int], path: str) -> str:
    value = fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise error(path, where.get(key, 1), f"front matter {key!r} must be plain text")
    return value.strip()


def _front_matter_tags(value: object, line: int, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items = re.split("[,|｜]", value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise error(path, line, "front matter 'tags' must be a list or a comma-separated line")
    return _unique([clean(item) for item in items])


def _blocks(body: list[str], markup: str) -> list[str]:
    """Plain text: paragraphs split on blank lines. Markdown: the whole body, one block,
    since blank lines inside lists and code fences belong to it."""
    if markup == "markdown":
        text = "\n".join(line.rstrip() for line in body).strip("\n")
        return [text] if text.strip() else []
    blocks, chunk = [], []
    for text in [*body, ""]:
        if text.strip():
            chunk.append(text.strip())
        elif chunk:
            blocks.append(_join(chunk))
            chunk = []
    return blocks


def _safe_url(url: str) -> bool:
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") and bool(parts.netloc)
            and not any(ch.isspace() or ord(ch) < 32 for ch in url))


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB" if size >= 1048576 else f"{size:,} bytes"
