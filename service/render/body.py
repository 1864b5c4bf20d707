"""An article's body as safe HTML: escaped paragraphs, or Markdown without raw HTML.

Seed files come from anyone who can write to the folder, so nothing in them is
trusted: plain text is escaped, Markdown is rendered by ``seed.markdown`` (raw HTML
disabled, only http(s), mailto and relative links kept).
"""

from __future__ import annotations

from html import escape

from service.model import Entry
from service.seed.markdown import to_html


def body_html(entry: Entry) -> str:
    """The entry's body as an HTML fragment, safe to embed anywhere."""
    if entry.markup == "markdown":
        return "".join(to_html(block) for block in entry.paragraphs)
    return "".join(f"<p>{escape(text, quote=False)}</p>\n" for text in entry.paragraphs)


def summary_html(entry: Entry) -> str:
    """The plain-text summary as HTML, for Atom (``type="html"``) and the RSS
    description, which readers take as HTML: a summary that reads ``<script>`` shows
    those characters, it never becomes markup."""
    return escape(entry.summary, quote=False)


def original_line(entry: Entry) -> str:
    """A last paragraph linking the original article, for the feeds: readers show an
    entry's content, and few show a second link (the article page has its own)."""
    if not entry.link:
        return ""
    url = escape(entry.link)
    return f'<p>Original article: <a href="{url}" rel="noreferrer">{url}</a></p>\n'
