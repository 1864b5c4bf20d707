"""The seed format: a file's bytes to articles (DESIGN section 1).

Two formats share one entry point. The news dump: headers that carry headline
and tags, marked by a doubled line or a following ``Release time:`` line, body
paragraphs separated by blank lines, page furniture (the running header of a
paginated page) dropped. And one article with YAML front matter, for people who
write by hand. Everything returns values; the only I/O is ``read_seed``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from urllib.parse import urlsplit

from .article import Article
from .dates import parse_release_time
from .decoding import BinaryFile, decode
from .frontmatter import KNOWN_KEYS, FrontMatterError, key_lines, split_front_matter
from .identity import article_id, tag_key
from .problems import Problem, SeedError, error, warning

MAX_HEADLINE = 500  # characters; a longer header line is shortened, with a warning
SUMMARY_LENGTH = 280
MARKDOWN_SUFFIXES = (".md", ".markdown")

_SEPARATOR = re.compile("[|｜]")
_SENTENCE_END = ".!?。！？"
_RELEASE = re.compile(r"(?:release\s*time|发布时间|發佈時間|發布時間)\s*[:：]\s*(.*)", re.I)
_RELEASE_START = ("R", "r", "发", "發")
_DANGLING = ("【", "[")
# Zero-width and bidirectional-override characters: invisible, and hostile in a title.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


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
        articles = _parse_dump(lines, path, timezone, notes)
    return SeedFile(path, tuple(articles), tuple(notes), decoded.encoding)


# --- the news dump -----------------------------------------------------------

def _parse_dump(lines: list[str], path: str, tz: tzinfo, notes: list[Problem]) -> list[Article]:
    """Walk the lines once: each article is a header, a release time, a body."""
    s = [text.strip() for text in lines]
    n = len(s)
    i = next(k for k in range(n) if s[k])  # the first non-blank line is always a header
    articles = []
    while i < n:
        header, header_line = s[i], i + 1
        j = i + 2 if i + 1 < n and s[i + 1] == header else i + 1
        k = j
        while k < n and not s[k]:
            k += 1
        published = None
        if k < n and s[k].startswith(_RELEASE_START) and (match := _RELEASE.fullmatch(s[k])):
            try:
                published = parse_release_time(match[1], tz)
            except ValueError as exc:
                notes.append(warning(path, k + 1, f"{exc}; the article is dated when first seen"))
            j = k + 1
        paragraphs: list[str] = []
        chunk: list[str] = []
        while j < n:
            text = s[j]
            if not text or text == header:  # blank line, or page furniture
                if chunk:
                    paragraphs.append(_join(chunk))
                    chunk = []
                j += 1
                continue
            if j + 1 < n and s[j + 1] == text or _release_follows(s, j + 1):
                break  # the next article's header
            chunk.append(text)
            j += 1
        if chunk:
            paragraphs.append(_join(chunk))
        if paragraphs and paragraphs[-1].endswith(_DANGLING):
            paragraphs[-1] = paragraphs[-1][:-1].rstrip()
            if not paragraphs[-1]:
                paragraphs.pop()
        article = _article(header, header_line, published, paragraphs, path, notes)
        if article is not None:
            articles.append(article)
        i = j
    return articles


def _release_follows(s: list[str], k: int) -> bool:
    """Is the next non-blank line from ``k`` on a release-time line?"""
    n = len(s)
    while k < n and not s[k]:
        k += 1
    return k < n and s[k].startswith(_RELEASE_START) and _RELEASE.fullmatch(s[k]) is not None


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
    cuts = [m.start() for m in _SEPARATOR.finditer(header)]
    if not cuts:
        return clean(header), ()
    starts = [0] + [c + 1 for c in cuts]
    ends = [*cuts, len(header)]
    parts = [header[a:b] for a, b in zip(starts, ends, strict=True)]
    j = len(parts)
    while j > 1 and _tag_like(parts[j - 1]):
        j -= 1  # walk from the right; never take the first segment
    if j == len(parts):
        return clean(header), ()
    tags = [clean(p) for p in parts[j:]]
    left_end = cuts[j - 1]
    segment_start = starts[j - 1]
    segment = header[segment_start:left_end]
    glued, headline_end = "", left_end
    punct = max(segment.rfind(mark) for mark in _SENTENCE_END)
    if punct >= 0:
        glued = segment[punct + 1:]
        headline_end = segment_start + punct + 1
    else:
        words = segment.rstrip()
        space = max(words.rfind(" "), words.rfind("\t"), words.rfind("\u3000"))
        glued = words[space + 1:]
        headline_end = segment_start + space + 1
    headline = clean(header[:headline_end].rstrip().rstrip("|｜"))
    if clean(glued) and headline:
        tags.insert(0, clean(glued))
    else:
        headline = clean(header[:left_end].rstrip().rstrip("|｜"))
    return headline, _unique(tags)


def _tag_like(segment: str) -> bool:
    text = segment.strip()
    return (len(text) <= 40 and len(text.split()) <= 4
            and not any(mark in text for mark in _SENTENCE_END))


def clean(text: str) -> str:
    """One line of display text: no control or invisible characters, single spaces."""
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def _unique(tags: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for tag in tags:
        if tag and tag_key(tag) not in seen:
            seen[tag_key(tag)] = tag
    return tuple(seen.values())


def _article(header: str, line: int, published, paragraphs: list[str], path: str,
             notes: list[Problem]) -> Article | None:
    headline, tags = split_header(header)
    if not headline:
        notes.append(warning(path, line, "header has no headline; article skipped"))
        return None
    return _make(headline, tags, published, paragraphs, path, line, notes)


def _make(headline: str, tags: tuple[str, ...], published, paragraphs: list[str], path: str,
          line: int, notes: list[Problem], *, summary: str = "", markup: str = "text",
          link: str | None = None, author: str | None = None) -> Article:
    if len(headline) > MAX_HEADLINE:
        notes.append(warning(path, line, f"headline is {len(headline):,} characters long; "
                                         f"shortened to {MAX_HEADLINE}"))
        headline = _shorten(headline, MAX_HEADLINE)
    if not paragraphs:
        notes.append(warning(path, line, f"article {headline[:60]!r} has no body text"))
    return Article(
        id=article_id(headline, published), title=headline, tags=tags, published=published,
        paragraphs=tuple(paragraphs), summary=summary or _summary(paragraphs), source=path,
        line=line, markup=markup, link=link, author=author)


def _summary(paragraphs: list[str]) -> str:
    return _shorten(clean(paragraphs[0]), SUMMARY_LENGTH) if paragraphs else ""


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


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
