"""Sample site data for the renderer tests: plain builders, no fixtures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from service.identity import article_id, slugify
from service.model import Entry, Feed, FeedLinks, Site, TagRef, TagSummary

BASE = "https://news.example.org"
AWKWARD = """Tom & Jerry <b>not bold</b> "quoted" 'single'"""
CHINESE = "中国海军舰队已经抵达！"
MARKDOWN = "## Heading\n\nSome *emphasis*, a [link](https://example.org/a?b=1&c=2) and `<b>`."
SHANGHAI = timezone(timedelta(hours=8))


def links(path: str, page: str, base: str = BASE) -> FeedLinks:
    """The URLs of the feed whose files share the path stem (e.g. "tags/navy")."""
    return FeedLinks(page=page, atom=f"{base}/{path}.atom",
                     rss=f"{base}/{path}.rss", json=f"{base}/{path}.json")


def tag_links(slug: str) -> FeedLinks:
    """The URLs of one tag's feeds and page."""
    return links(f"tags/{slug}", f"{BASE}/tags/{slug}/")


def tag(name: str) -> TagRef:
    """A tag reference with its slug derived the service's way."""
    return TagRef(name=name, slug=slugify(name))


def entry(title: str, published: datetime, *, tags: tuple[str, ...] = ("Navy",),
          updated: datetime | None = None, **fields: object) -> Entry:
    """An entry with a real article id and sensible defaults; ``fields`` override."""
    uid = article_id(title, published)
    made = Entry(id=uid, title=title, url=f"{BASE}/articles/{uid}", published=published,
                 updated=updated or published, tags=tuple(tag(name) for name in tags),
                 summary=f"Summary of {title}", paragraphs=(f"Body of {title}.", "More."))
    return replace(made, **fields)  # type: ignore[arg-type]


def sample_entries() -> tuple[Entry, ...]:
    """Four varied entries, newest published first."""
    return (
        entry(AWKWARD, datetime(2024, 4, 16, 9, 30, tzinfo=UTC), tags=(AWKWARD, "Navy"),
              author="Niu Yanmin", link="https://source.example.com/story?id=1&lang=en"),
        entry(CHINESE, datetime(2024, 4, 15, 11, 0, tzinfo=SHANGHAI), tags=("海军", "舰队")),
        entry("Markdown notes", datetime(2024, 4, 14, 3, 24, tzinfo=UTC),
              updated=datetime(2024, 4, 17, 8, 0, tzinfo=UTC), markup="markdown",
              paragraphs=(MARKDOWN,)),
        entry("Untagged and unsummarised", datetime(2024, 4, 13, 0, 0, tzinfo=UTC),
              tags=(), summary=""),
    )


def feed(entries: tuple[Entry, ...] | None = None, *, slug: str | None = None,
         title: str = "Seed News") -> Feed:
    """A feed of ``entries`` (default: the samples), updated at their newest update."""
    entries = sample_entries() if entries is None else entries
    newest = max((item.updated for item in entries),
                 default=datetime(2024, 4, 1, tzinfo=UTC))
    feed_links = links("all", f"{BASE}/") if slug is None else tag_links(slug)
    return Feed(slug=slug, title=title, subtitle=f"Everything in {title}", links=feed_links,
                author="The Seed Desk", updated=newest, entries=entries)


def empty_feed() -> Feed:
    """A feed with no entries."""
    return feed(())


def site() -> Site:
    """The sample site."""
    return Site(title="Seed News", base_url=BASE, author="The Seed Desk",
                all_links=links("all", f"{BASE}/"), opml_url=f"{BASE}/subscriptions.opml")


def tag_summaries() -> tuple[TagSummary, ...]:
    """Tag summaries with awkward and Chinese names, in index order."""
    names = ("Navy", AWKWARD, "海军", "舰队")
    when = datetime(2024, 4, 16, 9, 30, tzinfo=UTC)
    return tuple(TagSummary(name=name, slug=slugify(name), count=1, updated=when,
                            links=tag_links(slugify(name))) for name in names)
