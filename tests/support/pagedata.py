"""Sample sitemodel objects for the page tests, built the way the catalog builds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from service.model import Entry, Feed, FeedLinks, Site, TagRef, TagSummary

BASE = "http://localhost:8080"

# Markup, every character HTML escapes, and Chinese: what every text field may hold.
HOSTILE = "<script>alert(1)</script> & < > \" ' 港口新闻"

PUBLISHED = datetime(2024, 4, 14, 3, 24, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))


def feed_links(slug: str | None) -> FeedLinks:
    """The addresses of the all feed (slug None) or of one tag's feed."""
    if slug is None:
        return FeedLinks(page=f"{BASE}/", atom=f"{BASE}/all.atom",
                         rss=f"{BASE}/all.rss", json=f"{BASE}/all.json")
    stem = f"{BASE}/tags/{slug}"
    return FeedLinks(page=f"{stem}/", atom=f"{stem}.atom", rss=f"{stem}.rss",
                     json=f"{stem}.json")


def site(title: str = "Harbour Town News") -> Site:
    """A site served at BASE."""
    return Site(title=title, base_url=BASE, author="The Harbour Desk",
                all_links=feed_links(None), opml_url=f"{BASE}/subscriptions.opml")


def entry(
    number: int = 1,
    *,
    title: str = "Ferry timetable changes for the summer",
    tags: tuple[TagRef, ...] = (TagRef("Harbour", "harbour"), TagRef("Transport", "transport")),
    paragraphs: tuple[str, ...] = ("The first ferry now leaves at six.",
                                   "Night crossings return in June."),
    summary: str = "The first ferry now leaves at six.",
    published: datetime = PUBLISHED,
    updated: datetime | None = None,
    link: str | None = "https://example.org/ferry",
    author: str | None = "Mei Lin",
    markup: str = "text",
) -> Entry:
    """One article; ``number`` makes its id and address distinct."""
    article_id = f"00000000-0000-5000-8000-{number:012d}"
    return Entry(id=article_id, title=title, url=f"{BASE}/articles/{article_id}",
                 published=published, updated=updated or published, tags=tags,
                 summary=summary, paragraphs=paragraphs, markup=markup, link=link,
                 author=author)


def feed(slug: str | None, title: str, entries: tuple[Entry, ...]) -> Feed:
    """The all feed (slug None) or one tag's feed, holding ``entries``."""
    updated = max((item.updated for item in entries), default=PUBLISHED)
    return Feed(slug=slug, title=title, subtitle=f"Articles from {title}",
                links=feed_links(slug), author="The Harbour Desk", updated=updated,
                entries=entries)


def tag_summary(name: str, slug: str, count: int) -> TagSummary:
    """A tag as the index lists it."""
    return TagSummary(name=name, slug=slug, count=count, updated=PUBLISHED,
                      links=feed_links(slug))


def tag_summaries() -> tuple[TagSummary, ...]:
    """Three tags, one of them with a single article and one with a Chinese name."""
    return (tag_summary("Harbour", "harbour", 12), tag_summary("Transport", "transport", 1),
            tag_summary("港口", "港口", 3))


def hostile_entry() -> Entry:
    """An article whose every text field holds HOSTILE."""
    return entry(title=HOSTILE, tags=(TagRef(HOSTILE, "hostile"),), paragraphs=(HOSTILE,),
                 summary=HOSTILE, author=HOSTILE)
