"""An article's body as safe HTML: escaped paragraphs, or Markdown without raw HTML.

Seed files come from anyone who can write to the folder, so nothing in them is
trusted: plain text is escaped, Markdown is rendered with raw HTML disabled and
only http(s) and mailto links kept.
"""

from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from service.model import Entry

_SAFE_SCHEMES = ("http:", "https:", "mailto:")


def _validate_link(url: str) -> bool:
    lowered = url.strip().lower()
    return lowered.startswith(_SAFE_SCHEMES) or ":" not in lowered.split("/", 1)[0]


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
# markdown-it's hook for which links to render is an attribute to replace; to mypy, a
# method replaced.
_MARKDOWN.validateLink = _validate_link  # type: ignore[method-assign]


def body_html(entry: Entry) -> str:
    """The entry's body as an HTML fragment, safe to embed anywhere."""
    if entry.markup == "markdown":
        return "".join(_MARKDOWN.render(block) for block in entry.paragraphs)
    return "".join(f"<p>{escape(text, quote=False)}</p>\n" for text in entry.paragraphs)
