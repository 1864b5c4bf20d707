"""A file's last good articles as JSON, every field: kept in the state while the file
fails to parse, and published again from this alone after a restart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.model import Article


def article_row(article: Article) -> dict[str, Any]:
    """An article as JSON, every field: it is published again from this alone."""
    return {"id": article.id, "title": article.title, "tags": list(article.tags),
            "published": article.published.isoformat() if article.published else None,
            "paragraphs": list(article.paragraphs), "summary": article.summary,
            "source": article.source, "line": article.line, "markup": article.markup,
            "link": article.link, "author": article.author}


def article_of(row: dict[str, Any]) -> Article:
    published = row["published"]
    return Article(row["id"], row["title"], tuple(row["tags"]),
                   datetime.fromisoformat(published) if published else None,
                   tuple(row["paragraphs"]), row["summary"], row["source"], row["line"],
                   row["markup"], row["link"], row["author"])
