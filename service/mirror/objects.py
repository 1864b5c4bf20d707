"""What the bucket holds for a file of feeds/: which files become objects, their headers,
their upload order, their public address and where the bucket's record of them lives.

The bucket serves readers through a CDN with no seedfeeds in front, so each object
carries what ``seedfeeds web`` would send for its file: the same bytes (identity, never
the .gz sibling: a CDN compresses for itself), the same Content-Type (``layout``'s
table, the web's own) and the same Cache-Control. A test compares both with a running
web server, so the two cannot drift apart.
"""

from __future__ import annotations

import functools
import hashlib
import os
import zlib
from dataclasses import dataclass
from urllib.parse import quote

from service import layout

STATUS = layout.MIRROR_STATUS  # the mirror's state in feeds/, for /status and /metrics (report)
# Files of feeds/ the web does not serve: the manifest, status and figures files. (Their
# .gz siblings and the temp files of a pass in flight are left out by ``served`` too.)
NOT_SERVED = frozenset({layout.MANIFEST, layout.STATUS, layout.HUB_STATUS, STATUS})
OWN = ".seedfeeds/"  # under the prefix: the publisher's own objects, never a served file


@dataclass(frozen=True)
class Headers:
    """The HTTP headers an object is stored with."""

    content_type: str
    cache_control: str

    @functools.cached_property
    def digest(self) -> str:
        """A short hash of the headers, kept in the bucket's record: a header rule that
        changes re-uploads exactly the objects whose headers it changes."""
        text = f"{self.content_type}\n{self.cache_control}".encode()
        return hashlib.sha256(text).hexdigest()[:16]


def split_target(target: str) -> tuple[str, str]:
    """``s3://bucket/pre/fix`` (``--publish-to``) as (bucket, prefix)."""
    bucket, _, prefix = target.removeprefix("s3://").partition("/")
    return bucket, prefix


def served(path: str) -> bool:
    """``path`` (under feeds/) is a file the web serves, so an object of the bucket."""
    name = path.rsplit("/", 1)[-1]
    return (path not in NOT_SERVED and not name.startswith(".") and not path.endswith(".gz")
            and os.path.splitext(name)[1] in layout.CONTENT_TYPES)


def headers_of(path: str, max_age: int) -> Headers:
    """What ``seedfeeds web`` sends for ``path``: its media type and ``public, max-age``,
    or ``layout.IMMUTABLE`` for a frozen archive."""
    return _by_extension(path[path.rfind("."):], max_age, layout.immutable(path))


@functools.lru_cache(maxsize=64)
def _by_extension(extension: str, max_age: int, immutable: bool) -> Headers:
    """One object per kind of file: 100,000 pages share one, and its digest is hashed once.
    Archives share their extensions with the feeds, so immutability is part of the key."""
    cache_control = layout.IMMUTABLE if immutable else f"public, max-age={max_age}"
    return Headers(layout.CONTENT_TYPES[extension], cache_control)


# Upload order: what is linked to before what links to it, so a CDN in front of the
# bucket never sends a reader from a feed to a page that is not there yet: archives
# link to article pages, feeds to their newest archive, the sitemaps and robots.txt to
# everything. Deletes come after every upload, in the opposite order.
PHASES = ("assets", "articles", "archives", "tags", "feeds", "front")
_FRONT = frozenset({layout.INDEX, layout.OPML, layout.SITEMAP, layout.NEWS_SITEMAP,
                    layout.ROBOTS})
_ASSETS = frozenset({layout.STYLESHEET, layout.NOT_FOUND})


def phase_of(path: str) -> int:
    """The index in PHASES of the step that uploads ``path``."""
    if path in _ASSETS:
        return 0
    if path.startswith("articles/"):
        return 1
    if layout.immutable(path):
        return 2
    if path.startswith("tags/"):
        return 3
    return 5 if path in _FRONT else 4


def url_path(path: str) -> str:
    """The URL path a reader asks for to get ``path`` (percent-encoded), as the web routes
    it: ``index.html`` is ``/``, a tag page is ``/tags/<slug>/``, an article page is
    ``/articles/<id>``; anything else is the file's own path."""
    if path == layout.INDEX:
        return "/"
    if path.endswith("/index.html"):
        return "/" + quote(path[:-len("index.html")])
    if path.startswith("articles/") and path.endswith(".html"):
        return "/" + quote(path[:-5])
    return "/" + quote(path)


def shard_of(path: str) -> str:
    """The part of the bucket's record that lists ``path``: article pages by the first two
    characters of their id, tag files and archives by a hash of the slug (``all`` for
    the all feed's archives), the rest together. A pass that adds one article rewrites
    three or four small parts, never one large file."""
    if path.startswith("articles/"):
        return f"articles-{path[9:11]}"
    if layout.immutable(path):
        feed = path.split("/", 3)[2] if path.startswith(f"{layout.ARCHIVE}/tags/") else "all"
        return f"archives-{zlib.crc32(feed.encode('utf-8', 'surrogateescape')) % 64:02d}"
    if path.startswith("tags/"):
        slug = path[5:].split("/", 1)[0].rsplit(".", 1)[0]
        return f"tags-{zlib.crc32(slug.encode('utf-8', 'surrogateescape')) % 64:02d}"
    return "site"
