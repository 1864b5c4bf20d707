"""YAML front matter (the Hugo, Jekyll and Pelican convention) to plain fields.

Values are loaded as strings, lists and mappings only (YAML's own type guessing
would turn ``date:`` into naive datetimes and ``title: no`` into False), and
the release time goes through the same parser as the dump format's.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

FENCE = "---"
KNOWN_KEYS = frozenset({"title", "tags", "date", "summary", "link", "author", "format"})


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
