"""What ``seedfeeds check`` reads (files as given, folders searched) and prints: a
table for people, JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from service.identity import tag_key
from service.model import Article
from service.seed.folder import cannot_read, walk
from service.seed.problems import Problem, SeedError, shown
from service.seed.read import SeedFile, read_seed


def expand(paths: Iterable[Path]) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Files as given; folders as the seed files inside them, and what in them is not
    read (a folder that cannot be listed, a link out of it, a FIFO)."""
    out: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            prefix = "" if path == Path(".") else f"{path.as_posix().rstrip('/')}/"
            try:
                listing = walk(path, prefix)
            except OSError as exc:
                problems.append(Problem(str(path), None, cannot_read(exc)))
                continue
            out.extend((path / name, prefix + name) for name in listing.files)
            problems.extend(listing.problems)
        else:
            out.append((path, str(path)))
    return out, problems


def read_all(files: list[tuple[Path, str]], timezone: tzinfo,
             max_size: int) -> tuple[list[SeedFile], list[Problem]]:
    """Each file read, or its error."""
    results, errors = [], []
    for path, name in files:
        try:
            results.append(read_seed(path, shown(name), timezone=timezone, max_size=max_size))
        except SeedError as exc:
            errors.append(exc.problem)
    return results, errors


def as_json(results: Sequence[SeedFile]) -> str:
    """A JSON array, one object per article, in file then document order."""
    rows = [{
        "file": seed.path,
        "line": article.line,
        "id": article.id,
        "title": article.title,
        "tags": list(article.tags),
        "published": _iso(article.published),
        "paragraphs": len(article.paragraphs),
        "summary": article.summary,
    } for seed in results for article in seed.articles]
    return json.dumps(rows, ensure_ascii=False, indent=2)


def as_table(results: Sequence[SeedFile], width: int = 100) -> str:
    """Per file, a row per article: line, date, paragraphs, id, headline, then its tags."""
    out: list[str] = []
    for seed in results:
        count = len(seed.articles)
        out.append(f"{seed.path}  ({count} article{'' if count == 1 else 's'}, {seed.encoding})")
        if count:
            out.append(f"  {'LINE':>5}  {'PUBLISHED':<25}  {'¶':>3}  {'ID':<36}  HEADLINE")
        indent = 2 + 5 + 2 + 25 + 2 + 3 + 2 + 36 + 2
        room = max(width - indent, 20)
        for article in seed.articles:
            out.append(f"  {article.line:>5}  {_iso(article.published) or 'when first seen':<25}"
                       f"  {len(article.paragraphs):>3}  {article.id}  "
                       f"{_fit(article.title, room)}")
            if article.tags:
                out.append(" " * indent + _fit("tags: " + ", ".join(article.tags), room))
        out.append("")
    return "\n".join(out)


def summary_line(results: Sequence[SeedFile], errors: Sequence[Problem]) -> str:
    articles = sum(len(seed.articles) for seed in results)
    tags = {tag for seed in results for a in seed.articles for tag in _keys(a)}
    warnings = sum(len(seed.warnings) for seed in results)
    files = len(results) + len(errors)
    return (f"{files} file{'' if files == 1 else 's'}, {articles} article"
            f"{'' if articles == 1 else 's'}, {len(tags)} tag{'' if len(tags) == 1 else 's'}, "
            f"{len(errors)} error{'' if len(errors) == 1 else 's'}, "
            f"{warnings} warning{'' if warnings == 1 else 's'}")


def _keys(article: Article) -> list[str]:
    return [tag_key(tag) for tag in article.tags]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _fit(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"
