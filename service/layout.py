"""Where each published thing lives: its file under feeds/ and its URL.

The one place that knows the site's shape, shared by the publisher (which
writes the files) and the web app (which maps URLs back to them), so the two
cannot drift apart.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from service.config import Settings
from service.model import FeedLinks, Site

FORMATS = ("atom", "rss", "json")
INDEX = "index.html"
OPML = "subscriptions.opml"
MANIFEST = "index.json"
STATUS = "status.json"
HUB_STATUS = "websub.json"  # the hub's figures, for /status and /metrics
MIRROR_STATUS = "mirror.json"  # the bucket mirror's, likewise
STYLESHEET = "static/style.css"
FAVICON = "favicon.ico"  # what every browser and reader asks for
ICON = "static/icon.png"  # the feeds' icon (RSS <image> must be PNG, GIF or JPEG)
NOT_FOUND = "404.html"
ROBOTS = "robots.txt"
SITEMAP = "sitemap.xml"  # every article and tag page; an index of SITEMAPS above 50,000 URLs
SITEMAPS = "sitemaps"  # the folder of a large sitemap's parts: sitemaps/1.xml, ...
NEWS_SITEMAP = "sitemap-news.xml"  # the articles released in the last 48 hours
ARCHIVE = "archive"  # frozen archive documents (RFC 5005): archive/all/1.atom, ...
# Frozen archives never change: caches may keep them for a year without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"
# The media type of each kind of published file, as the web serves it and the hub pushes it.
TEXT = "; charset=utf-8"
CONTENT_TYPES = {
    ".atom": "application/atom+xml" + TEXT,
    ".rss": "application/rss+xml" + TEXT,
    ".json": "application/feed+json" + TEXT,
    ".opml": "text/x-opml" + TEXT,
    ".html": "text/html" + TEXT,
    ".css": "text/css" + TEXT,
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".xml": "application/xml" + TEXT,
    ".txt": "text/plain" + TEXT,
}


def feed_file(slug: str | None, fmt: str) -> str:
    """The file of a feed: all.atom, or tags/<slug>.atom."""
    return f"all.{fmt}" if slug is None else f"tags/{slug}.{fmt}"


_FEED_FILE = re.compile(r"(?:all|tags/([^/]+))\.(atom|rss|json)")


def feed_url_of(base_url: str, path: str) -> str | None:
    """The public URL of the feed in ``path`` under feeds/ (``tags/harbour.atom``), as
    the feed names itself (``rel="self"``); None if ``path`` is not a feed."""
    match = _FEED_FILE.fullmatch(path)
    if match is None:
        return None
    links = feed_links(base_url, match[1])
    return str(getattr(links, match[2]))


def hub_urls(settings: Settings) -> tuple[str, ...]:
    """The WebSub hubs every feed names (``rel="hub"``): this site's own when it runs
    one (``--websub-url``, else the base URL and /websub), then the external ones."""
    own = (settings.websub_url or f"{settings.base_url}/websub",) if settings.websub else ()
    return own + tuple(url for url in settings.websub_external_hubs if url not in own)


def link_header(hubs: tuple[str, ...], self_url: str) -> str:
    """The HTTP Link header of a feed (WebSub section 4): its hubs and itself, the same
    URLs as in the document."""
    return ", ".join([*(f'<{hub}>; rel="hub"' for hub in hubs), f'<{self_url}>; rel="self"'])


def archive_file(slug: str | None, number: int, fmt: str) -> str:
    """The file of a feed's archive document ``number`` (1 is the oldest):
    archive/all/1.atom, or archive/tags/<slug>/1.atom."""
    return (f"{ARCHIVE}/all/{number}.{fmt}" if slug is None
            else f"{ARCHIVE}/tags/{slug}/{number}.{fmt}")


@lru_cache(maxsize=4096)  # each is asked for by three archives: its own, and its neighbours
def archive_links(base_url: str, slug: str | None, number: int) -> FeedLinks:
    """The URLs of a feed's archive document ``number`` in each format; its page is
    the feed's own page."""
    stem = (f"{base_url}/{ARCHIVE}/all/{number}" if slug is None
            else f"{base_url}/{ARCHIVE}/tags/{quote(slug)}/{number}")
    return FeedLinks(page=feed_links(base_url, slug).page, atom=f"{stem}.atom",
                     rss=f"{stem}.rss", json=f"{stem}.json")


def immutable(path: str) -> bool:
    """A file whose bytes never change once written (a frozen archive), served and
    uploaded with ``IMMUTABLE``."""
    return path.startswith(f"{ARCHIVE}/")


def unlisted(path: str) -> bool:
    """Files left out of the manifest, for their number: article pages and archives
    (the web hashes those itself)."""
    return path.startswith(("articles/", f"{ARCHIVE}/"))


def tag_page_file(slug: str) -> str:
    return f"tags/{slug}/index.html"


def article_file(article_id: str) -> str:
    return f"articles/{article_id}.html"


@lru_cache(maxsize=1024)
def feed_links(base_url: str, slug: str | None) -> FeedLinks:
    """The URLs of a feed in each format and of its HTML page."""
    if slug is None:
        return FeedLinks(page=f"{base_url}/", atom=f"{base_url}/all.atom",
                         rss=f"{base_url}/all.rss", json=f"{base_url}/all.json")
    stem = f"{base_url}/tags/{quote(slug)}"
    return FeedLinks(page=f"{stem}/", atom=f"{stem}.atom", rss=f"{stem}.rss",
                     json=f"{stem}.json")


def sitemap_part_file(number: int) -> str:
    """The file of a large sitemap's part ``number`` (1 is the first): sitemaps/1.xml."""
    return f"{SITEMAPS}/{number}.xml"


def article_url(base_url: str, article_id: str) -> str:
    return f"{base_url}/articles/{article_id}"


def icon_url(base_url: str) -> str:
    return f"{base_url}/{ICON}"


def opml_url(base_url: str) -> str:
    return f"{base_url}/{OPML}"


def compressed(path: str) -> bool:
    """Files readers poll, and sitemaps, get a precompressed .gz sibling; article pages
    and archives do not (read once each; 100,000 more files would double a cold build)."""
    return not unlisted(path) and path.endswith(
        (".atom", ".rss", ".json", ".opml", ".html", ".xml")) and path not in (MANIFEST, STATUS)


def site_of(settings: Settings) -> Site:
    """The site-wide facts every page needs, from the settings."""
    return Site(title=settings.site_title, base_url=settings.base_url,
                author=settings.feed_author,
                all_links=feed_links(settings.base_url, None),
                opml_url=opml_url(settings.base_url), hubs=hub_urls(settings))
