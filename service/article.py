"""The article: what the reader hands to the rest of the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Article:
    """One article as read from a seed file; plain data, no behaviour.

    Treated as immutable; not ``frozen`` only because frozen construction costs
    2.5x more and the reader builds 40,000 of these a second. The reader passes the
    fields by position (3x cheaper than by keyword): keep their order.
    """

    id: str
    title: str
    tags: tuple[str, ...]
    published: datetime | None  # None: first seen by the publisher decides
    paragraphs: tuple[str, ...]
    summary: str
    source: str  # path of the seed file, relative to the seeds folder
    line: int  # line of the header (or of the front matter's title)
    markup: str = "text"  # "text" or "markdown"
    link: str | None = None
    author: str | None = None
