"""What each pass writes of the sitemaps: sitemap.xml (an index of parts above the
protocol's limit), the Google News sitemap and robots.txt.

A pass that adds one article to a site of 100,000 must cost a few milliseconds here,
so nothing is sorted or rendered again that did not change (``sitemap_rows``). Article
pages are listed in arrival order (``views.order``, oldest first: it survives restarts,
as first-seen times live in the state, and never depends on a path), so a new article
is appended to the last part, and only a part one of whose rows changed is joined
again. Above the limit the article parts come first,
sitemaps/1.xml to sitemaps/A.xml, so that a new tag never renumbers them; the index
page and the tag pages (by slug: a short list) fill the parts after them. A pass
writes only the parts it joined again, and the writer skips those whose bytes held.

The news sitemap (which articles: ``news``) is listed anew at each pass, as its
content depends on the time: an article falls out at the first pass after its 48
hours, a reconcile pass at the latest. It is rendered only when its list changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from service import layout
from service.config import Settings
from service.model import TagSummary
from service.publish.dating import Dated, Releases
from service.publish.news import Newest
from service.publish.sitemap_rows import ArticleRows, PageRows, Row, row_length
from service.publish.writer import SiteWriter
from service.render import files as render

PART_SIZE = 50_000  # URLs one sitemap may list (sitemaps.org); tests make it smaller
PART_BYTES = 50 * 1024 * 1024 - render.SITEMAP_OVERHEAD  # its rows' bytes, uncompressed

class Sitemaps:
    """The sitemaps of one feeds folder, as the passes left them (in memory only: a
    fresh publisher's first pass renders them all, and the writer keeps equal bytes)."""

    def __init__(self, settings: Settings, part_size: int | None = None) -> None:
        self.settings = settings
        self.base_url = settings.base_url
        self.part_size = part_size or PART_SIZE
        # Article rows all have one length (uuid ids, dates of one length): cut by count.
        probe = row_length(self.base_url, "0" * 36)
        self.articles = ArticleRows(self.base_url, max(1, min(self.part_size,
                                                            PART_BYTES // probe)))
        self.pages = PageRows(self.base_url)
        self.parts: list[str | None] = []  # the lastmod of each part now published
        self.article_parts = 0  # how many of them list articles (the first ones)
        self.newest = Newest()  # the newest articles, of which the news sitemap lists some
        self.news: dict[str, tuple[Dated, bytes]] = {}  # as the news sitemap lists them
        self.built = False

    def publish(self, writer: SiteWriter, releases: Releases,
                summaries: Mapping[str, TagSummary], dirty: Iterable[str],
                tags: Iterable[str], now: float) -> None:
        """Write what changed of the sitemaps since the last pass (everything, the first
        time), given the articles (``dirty``) and tag keys (``tags``) the pass changed."""
        entries = releases.entries
        cold = not self.built
        if cold:
            self.articles.rebuild(entries)
            self.pages.update(summaries, summaries)
        else:
            self.articles.update(dirty, entries, releases.before)
            self.pages.update(tags, summaries)
        stamp = datetime.fromtimestamp(int(now), UTC)

        def emit(files: Mapping[str, bytes]) -> None:  # a part as soon as it is joined
            for path, data in files.items():
                writer.write(path, data, stamp)
        files, stale = self._sitemap(writer, entries, cold, emit)
        self.articles.let_go()
        files.update(self._news(releases, dirty, now, cold))
        if cold:
            files.update(render.robots_file(self.base_url))
        for path, data in files.items():
            writer.write(path, data, stamp)
        for path in stale:
            writer.remove(path)
        self.built = True

    def _sitemap(self, writer: SiteWriter, entries: Mapping[str, Dated], cold: bool,
                 emit: Callable[[Mapping[str, bytes]], None]
                 ) -> tuple[dict[str, bytes], list[str]]:
        """sitemap.xml and those of its parts that changed (the article parts handed to
        ``emit`` as they are joined: a million articles' are 150 MB); and the parts now
        stale."""
        articles, pages = self.articles, self.pages
        changed = articles.take_changed(entries)
        pages.date_index(max(articles.part_lastmods, default=""))
        pages_changed = pages.take_changed()
        rows = pages.rows()
        urls = len(rows) + len(articles)
        files: dict[str, bytes] = {}
        if urls <= self.part_size and articles.size + sum(len(r) for _, r in rows) <= PART_BYTES:
            if cold or changed or pages_changed or self.parts:
                files = render.sitemap_file([row for _, row in rows]
                                            + articles.all_rows(entries))
            return files, self._stale(writer, [], 0, cold)
        count = articles.parts()
        if cold or not self.parts:  # a new site, or one that just outgrew a single file
            changed = set(range(count))
        for index in sorted(changed):
            emit(self._mended(writer, index) or
                 render.sitemap_part_file(index + 1, articles.part(index, entries)))
        lastmods: list[str | None] = [lastmod or None for lastmod in articles.part_lastmods]
        # The pages' parts follow the articles': a new article part renumbers them.
        moved = cold or count != self.article_parts
        for number, chunk in enumerate(_chunks(rows, self.part_size), count + 1):
            lastmods.append(max(lastmod for lastmod, _ in chunk) or None)
            if pages_changed or moved:
                files.update(render.sitemap_part_file(number, [row for _, row in chunk]))
        if files or changed or lastmods != self.parts:
            files.update(render.sitemap_index_file(self.base_url, enumerate(lastmods, 1)))
        return files, self._stale(writer, lastmods, count, cold)

    def _mended(self, writer: SiteWriter, index: int) -> dict[str, bytes] | None:
        """A part whose articles were edited in place, and only so, as its published
        file with their rows replaced: an edit of an old article does not render 50,000
        rows again. None (render it) unless the file is as this writer published it and
        each old row is in it once."""
        patches = self.articles.patches.get(index)
        if not patches:
            return None
        path = layout.sitemap_part_file(index + 1)
        data = writer.published(path)
        if data is None:
            return None
        for old, new in patches:
            if data.count(old) != 1:
                return None
            data = data.replace(old, new)
        return {path: data}

    def _stale(self, writer: SiteWriter, lastmods: list[str | None], article_parts: int,
               cold: bool) -> list[str]:
        """The parts no longer wanted: past the last of those of the last pass, or (cold)
        any on disk. Then ``lastmods`` are what is published."""
        if cold:
            wanted = {layout.sitemap_part_file(n) for n in range(1, len(lastmods) + 1)}
            stale = sorted(p for p in writer.files()
                           if p.startswith(f"{layout.SITEMAPS}/") and p not in wanted)
        else:
            stale = [layout.sitemap_part_file(n)
                     for n in range(len(lastmods) + 1, len(self.parts) + 1)]
        self.parts, self.article_parts = lastmods, article_parts
        return stale

    def _news(self, releases: Releases, dirty: Iterable[str], now: float,
              cold: bool) -> dict[str, bytes]:
        """The news sitemap, if its list of articles changed (or on a cold pass)."""
        entries = releases.entries
        if cold:
            self.newest.rebuild(entries)
        else:
            self.newest.update(dirty, entries)
        listed = self.newest.listed(entries, now)
        held = self.news
        if not cold and len(held) == len(listed) and all(
                held.get(i, (None,))[0] is entries[i] for i in listed):
            return {}
        site, language = layout.site_of(self.settings), self.settings.language
        self.news = {}
        for article_id in listed:  # a row is rendered once, while its entry holds
            dated = entries[article_id]
            was, row = held.get(article_id, (None, b""))
            self.news[article_id] = (dated, row if was is dated else render.news_row(
                site, language, releases.entry(article_id)))
        return render.news_sitemap_file([row for _, row in self.news.values()])


def _chunks(rows: list[Row], count: int) -> list[list[Row]]:
    """``rows`` cut into parts of at most ``count`` rows and ``PART_BYTES`` bytes."""
    chunks: list[list[Row]] = [[]]
    size = 0
    for row in rows:
        if len(chunks[-1]) >= count or (chunks[-1] and size + len(row[1]) > PART_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(row)
        size += len(row[1])
    return chunks
