"""URLs to files: what a request path names under feeds/, decided before any file access.

A URL reaches a file only through ``resolve`` and ``layout``; the web then serves it
only if it is published (listed in the manifest, or an unlisted file that exists: a
uuid-named article page, an archive of a well-formed slug and number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service import layout

# Article ids are uuid5 strings, lowercase: anything else is refused before any file access.
ARTICLE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# An archive's number: 1, 2, ... in ASCII digits, no leading zero, so one file has one URL.
NUMBER = re.compile(r"[1-9][0-9]{0,9}")
# What ``identity.slugify`` makes (letters, digits, dashes): an archive is opened by its
# slug, with no manifest to look it up in first, so no dot, slash, NUL or backslash.
ARCHIVE_SLUG = re.compile(r"(?:[^\W_]|-)+")


@dataclass(frozen=True)
class Target:
    """What a URL path names: a route (the metrics label) and a file under feeds/."""

    route: str
    path: str


_FIXED = {"/": Target("index", layout.INDEX),
          "/subscriptions.opml": Target("opml", layout.OPML),
          "/static/style.css": Target("stylesheet", layout.STYLESHEET),
          "/favicon.ico": Target("icon", layout.FAVICON),
          "/static/icon.png": Target("icon", layout.ICON),
          "/robots.txt": Target("robots", layout.ROBOTS),
          "/sitemap.xml": Target("sitemap", layout.SITEMAP),
          "/sitemap-news.xml": Target("sitemap", layout.NEWS_SITEMAP)}


def resolve(url_path: str) -> Target | None:
    """The published file a (decoded) URL path names, or None; the caller still checks
    that it is published. ``tag_redirect`` is the bare ``/tags/<slug>`` of a tag page."""
    fixed = _FIXED.get(url_path)
    if fixed is not None:
        return fixed
    prefix, _, rest = url_path[1:].partition("/")
    if url_path.startswith("/all."):
        fmt = url_path.removeprefix("/all.")
        return Target("all_feed", layout.feed_file(None, fmt)) if fmt in layout.FORMATS else None
    if prefix == "tags" and rest:
        return _resolve_tag(rest)
    if prefix == "articles" and ARTICLE_ID.fullmatch(rest):
        return Target("article", layout.article_file(rest))
    if prefix == layout.ARCHIVE:
        return _resolve_archive(rest.split("/"))
    if prefix == layout.SITEMAPS and rest.endswith(".xml") and NUMBER.fullmatch(rest[:-4]):
        return Target("sitemap", f"{layout.SITEMAPS}/{rest}")
    return None


def _resolve_archive(parts: list[str]) -> Target | None:
    """``all/<N>.<format>`` or ``tags/<slug>/<N>.<format>``."""
    if parts[:1] == ["all"] and len(parts) == 2:
        slug = None
    elif parts[:1] == ["tags"] and len(parts) == 3 and ARCHIVE_SLUG.fullmatch(parts[1]):
        slug = parts[1]
    else:
        return None
    number, _, fmt = parts[-1].partition(".")
    if not NUMBER.fullmatch(number) or fmt not in layout.FORMATS:
        return None
    return Target("archive", layout.archive_file(slug, int(number), fmt))


def _resolve_tag(rest: str) -> Target | None:
    slug, dot, fmt = rest.rpartition(".")
    if rest.endswith("/") and _one_segment(rest[:-1]):
        return Target("tag_page", layout.tag_page_file(rest[:-1]))
    if dot and fmt in layout.FORMATS and _one_segment(slug):
        return Target("tag_feed", layout.feed_file(slug, fmt))
    if _one_segment(rest):
        return Target("tag_redirect", layout.tag_page_file(rest))
    return None


def _one_segment(slug: str) -> bool:
    return bool(slug) and "/" not in slug and slug not in (".", "..")
