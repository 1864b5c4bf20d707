"""Markdown, the markup a front-matter article may be written in: the only module that
imports markdown-it, for the body's HTML (``render.body``) and for the plain text of
its summary here.

Seed files come from anyone who can write to the folder, so nothing in them is
trusted: raw HTML is disabled and only http(s), mailto and relative links kept.
A summary is plain text in every feed and page (readers show it as such: raw `**`
and `[..](..)` there would be noise), so a Markdown article's summary is its first
block rendered and stripped of markup, not its source.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

_SAFE_SCHEMES = ("http:", "https:", "mailto:")
_TEXT_TOKENS = ("text", "code_inline")
_BREAKS = ("softbreak", "hardbreak")


def _validate_link(url: str) -> bool:
    lowered = url.strip().lower()
    return lowered.startswith(_SAFE_SCHEMES) or ":" not in lowered.split("/", 1)[0]


@cache
def _markdown() -> MarkdownIt:
    """The parser, made on first use: a site of plain-text seeds never loads markdown-it
    (30 ms at start-up)."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False, "linkify": False,
                                       "typographer": False})
    # markdown-it's hook for which links to render is an attribute to replace; to mypy, a
    # method replaced.
    parser.validateLink = _validate_link  # type: ignore[method-assign]
    return parser


def to_html(source: str) -> str:
    """The Markdown as an HTML fragment, safe to embed anywhere."""
    return str(_markdown().render(source))


def to_text(source: str) -> str:
    """The words of the Markdown as a reader sees them, blocks and line breaks as
    single spaces, with no markup left (link targets and images' addresses dropped,
    their text kept)."""
    words: list[str] = []
    for block in _markdown().parse(source):
        if block.type == "inline":
            for token in block.children or ():
                if token.type in _TEXT_TOKENS:
                    words.append(token.content)
                elif token.type in _BREAKS:
                    words.append(" ")
                elif token.type == "image":
                    words.append(token.content)
            words.append(" ")
        elif block.type in ("fence", "code_block"):
            words.append(block.content.replace("\n", " ") + " ")
    return " ".join("".join(words).split())
