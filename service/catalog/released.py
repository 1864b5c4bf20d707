"""The catalog seen as a site: articles to entries, tags to feeds (sitemodel data).

Pure functions: every time they need comes in as an argument, every URL is
built by ``layout`` from the base URL, and every sequence leaves here sorted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from service import layout
from service.catalog.records import Sighting, to_datetime
from service.config import Settings
from service.identity import tag_key
from service.model import Brief, Entry, Feed, TagRef, TagSummary, Text


def times_of(article: Brief, seen: Sighting) -> tuple[datetime, datetime]:
    """Published and updated: the release time (or first sighting), and the last edit.

    An edit never moves ``published``; ``updated`` is never before it (an embargoed
    article edited before its release is simply updated at release)."""
    published = article.published or to_datetime(seen.first_seen)
    if seen.changed is None:
        return published, published
    changed = to_datetime(seen.changed)
    return published, max(published, changed.astimezone(published.tzinfo))


def entry_of(article: Brief, text: Text, published: datetime, updated: datetime,
             tags: tuple[TagRef, ...], base_url: str) -> Entry:
    """The published form of an article, with its tags as display name and slug."""
    return Entry(article.id, text.title, layout.article_url(base_url, article.id),
                 published, updated, tags, text.summary, text.paragraphs,
                 article.markup, article.link, article.author)


def tag_refs(article: Brief, refs: Mapping[str, TagRef]) -> tuple[TagRef, ...]:
    """An article's tags as the site names them (``refs``: tag key -> reference)."""
    return tuple([refs[tag_key(name)] for name in article.tags])


def arrival(published: float, first_seen: float | None) -> float:
    """When an article arrives (epoch seconds): when it is released, at its release
    time, or when the publisher first saw it if that was later (a back-dated article
    dropped today arrives today, and is seen at the head of its feeds; entries keep
    their true ``published``)."""
    return published if first_seen is None else max(published, first_seen)


def order(article_id: str, published: float, arrived: float) -> tuple[float, float, str]:
    """Sort key: newest arrival first, then newest ``published`` (articles that arrive
    together, as in a cold build, keep the order of their dates), ties by id (never by
    file or path). ``published`` is the entry's timestamp."""
    return (-arrived, -published, article_id)


def feed_of(settings: Settings, slug: str | None, name: str | None,
            entries: Iterable[Entry], emptied: datetime, archives: int = 0) -> Feed:
    """A feed's subscription document of the given (already sorted) entries: the newest
    arrivals since its newest archive (of ``archives``), or all of them (fh:complete)."""
    entries = tuple(entries)
    base = settings.base_url
    return Feed(slug=slug, title=_title(settings, name), subtitle=_subtitle(settings, name),
                links=layout.feed_links(base, slug), author=settings.feed_author,
                updated=max((e.updated for e in entries), default=emptied), entries=entries,
                hubs=layout.hub_urls(settings), icon=layout.icon_url(base),
                prev_archive=layout.archive_links(base, slug, archives) if archives else None,
                complete=not archives)


def archive_of(settings: Settings, slug: str | None, name: str | None, number: int,
               entries: Iterable[Entry]) -> Feed:
    """A feed's archive document ``number`` (1 the oldest) of the given entries, newest
    first. It names no hub: an archive never changes, so there is nothing to push. Its
    ``next-archive`` is where the next archive is, or will be once frozen: named from
    the start, since adding it later would rewrite a frozen archive."""
    entries = tuple(entries)
    base = settings.base_url
    return Feed(slug=slug, title=_title(settings, name), subtitle=_subtitle(settings, name),
                links=layout.feed_links(base, slug), author=settings.feed_author,
                updated=max((e.updated for e in entries), default=_EPOCH), entries=entries,
                icon=layout.icon_url(base), archive=layout.archive_links(base, slug, number),
                prev_archive=layout.archive_links(base, slug, number - 1) if number > 1
                else None, next_archive=layout.archive_links(base, slug, number + 1))


_EPOCH = datetime.fromtimestamp(0, UTC)  # an archive emptied by deletions


def _title(settings: Settings, name: str | None) -> str:
    return settings.site_title if name is None else f"{name} · {settings.site_title}"


def _subtitle(settings: Settings, name: str | None) -> str:
    return (f"Every article published on {settings.site_title}" if name is None
            else f"Articles tagged “{name}” on {settings.site_title}")


def summary_of(feed: Feed, name: str, count: int) -> TagSummary:
    assert feed.slug is not None
    return TagSummary(name=name, slug=feed.slug, count=count, updated=feed.updated,
                      links=feed.links)
