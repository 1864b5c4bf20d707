"""Sample sites for the renderer tests, built the way the catalog builds them: plain
builders of service.model values, no fixtures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from service.identity import article_id, slugify
from service.model import Entry, Feed, FeedLinks, Site, TagRef, TagSummary

BASE = "https://news.example.org"
PUBLISHED = datetime(2024, 4, 14, 3, 24, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))

# Markup characters that a feed must carry as text.
AWKWARD = """Tom & Jerry <b>not bold</b> "quoted" 'single'"""
# Markup, every character HTML escapes, and Chinese: what every text field of a page may hold.
HOSTILE = "<script>alert(1)</script> & < > \" ' 港口新闻"
CHINESE = "中国海军舰队已经抵达！"
MARKDOWN = "## Heading\n\nSome *emphasis*, a [link](https://example.org/a?b=1&c=2) and `<b>`."


def links(slug: str | None, base: str = BASE) -> FeedLinks:
    """The addresses of the all feed (slug None) or of one tag's feeds and page."""
    stem, page = (f"{base}/all", f"{base}/") if slug is None else (
        f"{base}/tags/{slug}", f"{base}/tags/{slug}/")
    return FeedLinks(page=page, atom=f"{stem}.atom", rss=f"{stem}.rss", json=f"{stem}.json")


def site(title: str = "Seed News") -> Site:
    """A site served at BASE."""
    return Site(title=title, base_url=BASE, author="The Seed Desk", all_links=links(None),
                opml_url=f"{BASE}/subscriptions.opml")


def tag_refs(*names: str) -> tuple[TagRef, ...]:
    """Tag references with their slugs derived the service's way."""
    return tuple(TagRef(name=name, slug=slugify(name)) for name in names)


def entry(title: str = "Ferry timetable changes for the summer",
          published: datetime = PUBLISHED, *, updated: datetime | None = None,
          **fields: object) -> Entry:
    """An article with a real id, its page under BASE, the tags Harbour and Transport, a
    summary, two paragraphs, an author and an original link; ``fields`` override."""
    uid = article_id(title, published)
    made = Entry(id=uid, title=title, url=f"{BASE}/articles/{uid}", published=published,
                 updated=updated or published, tags=tag_refs("Harbour", "Transport"),
                 summary=f"Summary of {title}", paragraphs=(f"Body of {title}.", "More."),
                 link="https://example.org/ferry", author="Mei Lin")
    return replace(made, **fields)


def hostile_entry() -> Entry:
    """An article whose every text field holds HOSTILE."""
    return entry(HOSTILE, tags=(TagRef(HOSTILE, "hostile"),), paragraphs=(HOSTILE,),
                 summary=HOSTILE, author=HOSTILE)


def sample_entries() -> tuple[Entry, ...]:
    """Four varied entries, newest published first; only the first has an author and link."""
    bare = {"author": None, "link": None}
    return (
        entry(AWKWARD, datetime(2024, 4, 16, 9, 30, tzinfo=UTC), tags=tag_refs(AWKWARD, "Navy"),
              author="Niu Yanmin", link="https://source.example.com/story?id=1&lang=en"),
        entry(CHINESE, datetime(2024, 4, 15, 11, 0, tzinfo=SHANGHAI), tags=tag_refs("海军", "舰队"),
              **bare),
        entry("Markdown notes", datetime(2024, 4, 14, 3, 24, tzinfo=UTC),
              updated=datetime(2024, 4, 17, 8, 0, tzinfo=UTC), tags=tag_refs("Navy"),
              markup="markdown", paragraphs=(MARKDOWN,), **bare),
        entry("Untagged and unsummarised", datetime(2024, 4, 13, 0, 0, tzinfo=UTC),
              tags=(), summary="", **bare),
    )


def feed(entries: tuple[Entry, ...] | None = None, *, slug: str | None = None,
         title: str = "Seed News") -> Feed:
    """The all feed (slug None) or one tag's feed of ``entries`` (default: the samples),
    updated at their newest update."""
    entries = sample_entries() if entries is None else entries
    newest = max((item.updated for item in entries), default=PUBLISHED)
    return Feed(slug=slug, title=title, subtitle=f"Everything in {title}", links=links(slug),
                author="The Seed Desk", updated=newest, entries=entries)


def tag_summary(name: str, count: int = 1, *, slug: str | None = None) -> TagSummary:
    """A tag as the index lists it, last updated at PUBLISHED; its slug derived unless given."""
    slug = slug or slugify(name)
    return TagSummary(name=name, slug=slug, count=count, updated=PUBLISHED, links=links(slug))


def tag_summaries() -> tuple[TagSummary, ...]:
    """The sample entries' tags, with awkward and Chinese names, in index order."""
    return tuple(tag_summary(name) for name in ("Navy", AWKWARD, "海军", "舰队"))
