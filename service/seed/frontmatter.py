"""One article with YAML front matter (the Hugo, Jekyll and Pelican convention).

The fenced YAML becomes plain fields, then the fields and the body one Article.
Values are loaded as strings, lists and mappings only (YAML's own type guessing
would turn ``date:`` into naive datetimes and ``title: no`` into False), and
the release time goes through the same parser as the dump format's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo
from urllib.parse import urlsplit

from service.identity import article_id
from service.model import Article
from service.seed.dates import parse_release_time
from service.seed.header import split_commas
from service.seed.markdown import to_text
from service.seed.problems import Problem, error, warning
from service.seed.text import checked_headline, clean, join_lines, summary_of

FENCE = "---"
KNOWN_KEYS = frozenset({"title", "tags", "date", "summary", "link", "author", "format"})
MARKDOWN_SUFFIXES = (".md", ".markdown")


class FrontMatterError(ValueError):
    """Unusable front matter; ``line`` is the file line it concerns."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class FrontMatter:
    fields: dict[str, object]
    body_line: int  # file line (1-based) where the body starts
    body: list[str]  # the body's lines


def split_front_matter(lines: list[str]) -> FrontMatter:
    """Parse ``---``-fenced YAML at the top of ``lines`` (which start with the fence)."""
    for index in range(1, len(lines)):
        if lines[index].strip() in (FENCE, "..."):
            break
    else:
        raise FrontMatterError("front matter opened with --- is never closed by a --- line", 1)
    import yaml  # here: a folder of plain dump files never pays its 12 ms

    try:
        fields = yaml.load("\n".join(lines[1:index]), Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + mark.line if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FrontMatterError(f"front matter is not valid YAML: {reason}", line) from None
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise FrontMatterError("front matter must be key: value lines", 2)
    return FrontMatter({str(k).strip().lower(): v for k, v in fields.items()},
                       index + 2, lines[index + 1:])


def key_lines(lines: list[str]) -> dict[str, int]:
    """File line of each top-level key in the front matter, for messages."""
    found: dict[str, int] = {}
    for number, text in enumerate(lines[1:], start=2):
        if text.strip() in (FENCE, "..."):
            break
        if text[:1].isalpha() and ":" in text:
            found.setdefault(text.split(":", 1)[0].strip().lower(), number)
    return found


# --- one article with front matter -------------------------------------------

def parse_structured(lines: list[str], path: str, tz: tzinfo,
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
        items = re.split("[,，|｜]", value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = value
    else:
        raise error(path, line, "front matter 'tags' must be a list or a comma-separated line")
    return split_commas([clean(item) for item in items])


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
            blocks.append(join_lines(chunk))
            chunk = []
    return blocks


def _safe_url(url: str) -> bool:
    parts = urlsplit(url)
    return (parts.scheme in ("http", "https") and bool(parts.netloc)
            and not any(ch.isspace() or ord(ch) < 32 for ch in url))


def _make(headline: str, tags: tuple[str, ...], published, paragraphs: list[str], path: str,
          line: int, notes: list[Problem], *, summary: str = "", markup: str = "text",
          link: str | None = None, author: str | None = None) -> Article:
    """One article, with the warnings it deserves (the dump makes its own in bulk)."""
    headline = checked_headline(headline, paragraphs, path, line, notes)
    if not summary:
        summary = summary_of([to_text(paragraphs[0])] if markup == "markdown" and paragraphs
                             else paragraphs)
    return Article(article_id(headline, published), headline, tags, published,
                   tuple(paragraphs), summary, path, line, markup, link, author)
