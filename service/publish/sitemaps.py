"""What each pass writes of the sitemaps: sitemap.xml (an index of parts above the
protocol's limit), the Google News sitemap and robots.txt.

A pass that adds one article to a site of 100,000 must cost a few milliseconds here,
so nothing is sorted or rendered again that did not change. Article pages are listed
in arrival order (``views.order``, oldest first: it survives restarts, as first-seen
times live in the state, and never depends on a path), so a new article is appended
to the last part; each row is rendered once and kept, and only a part one of whose
rows changed is joined again. Above the limit the article parts come first,
sitemaps/1.xml to sitemaps/A.xml, so that a new tag never renumbers them; the index
page and the tag pages (by slug: a short list) fill the parts after them. A pass
writes only the parts it joined again, and the writer skips those whose bytes held.

The news sitemap (which articles: ``news``) is listed anew at each pass, as its
content depends on the time: an article falls out at the first pass after its 48
hours, a reconcile pass at the latest. It is rendered only when its list changed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from service import layout
from service.config import Settings
from service.model import TagSummary
from service.publish.dating import Dated, Releases
from service.publish.news import Newest
from service.publish.writer import SiteWriter
from service.render import files as render

PART_SIZE = 50_000  # URLs one sitemap may list (sitemaps.org); tests make it smaller
PART_BYTES = 50 * 1024 * 1024 - render.SITEMAP_OVERHEAD  # its rows' bytes, uncompressed

Key = tuple[float, float, str]  # (arrival, published, id): oldest arrival first
Row = tuple[str, bytes]  # a page's lastmod ("" if unknown) and its rendered <url>


def _row(loc: str, lastmod: str) -> Row:
    return lastmod, render.sitemap_row(loc, lastmod or None)


class _Articles:
    """The article pages in arrival order, and which parts changed since asked.

    Only the ids are kept, in order (8 bytes an article): a row is rendered when its part
    is joined, and the rows rendered are kept until the pass ends, those of the newest
    part longer, as each new article joins that part again."""

    def __init__(self, base_url: str, per_part: int) -> None:
        self.base_url, self.per_part = base_url, per_part
        self.ids: list[str] = []  # oldest arrival first
        self.size = 0  # bytes of every row
        self.part_lastmods: list[str] = []  # the newest lastmod of each part
        self._rows: dict[str, bytes] = {}  # rows rendered, by id
        self._moved: int | None = None  # the first row that moved: every part from its
        self._touched: set[int] = set()  # rows that changed in place

    def __len__(self) -> int:
        return len(self.ids)

    def rebuild(self, entries: Mapping[str, Dated]) -> None:
        """Every row from scratch, sorted once (a cold pass)."""
        self.ids = sorted(entries, key=lambda i: _arrival(entries[i].order))
        self.size = sum(len(self._row(i, entries[i])) for i in self.ids)
        self._moved = 0

    def update(self, ids: Iterable[str], entries: Mapping[str, Dated],
               before: Mapping[str, Dated]) -> None:
        """The rows of ``ids`` (changed, new or gone) anew: a bisect each. ``before``:
        their entries before the pass changed them, where they had one."""
        order, ids = self.ids, list(ids)
        leaving = {i for i in ids if i in before}  # in the list, at their old place

        def place(article_id: str) -> Key:
            dated = before[article_id] if article_id in leaving else entries[article_id]
            return _arrival(dated.order)
        stayed: dict[str, bytes] = {}  # ids at the same place: their old rows
        for article_id in ids:
            old, new = before.get(article_id), entries.get(article_id)
            if old is None:
                continue
            at = bisect_left(order, _arrival(old.order), key=place)
            if at == len(order) or order[at] != article_id:
                continue  # not listed: nothing to take out
            row = self._rows.pop(article_id, None) or _entry_row(self.base_url, article_id,
                                                                 old)[1]
            if new is not None and new.order == old.order:  # edited, or only looked at
                stayed[article_id] = row
                continue
            self.size -= len(row)
            del order[at]
            leaving.discard(article_id)
            self._moved = at if self._moved is None else min(self._moved, at)
        leaving.clear()  # every id left in the list is at its place now
        for article_id in ids:
            new = entries.get(article_id)
            if new is None:
                continue
            at = bisect_left(order, _arrival(new.order), key=place)
            row = self._row(article_id, new)
            if article_id in stayed:
                if row != stayed[article_id]:
                    self.size += len(row) - len(stayed[article_id])
                    self._touched.add(at)
                continue
            order.insert(at, article_id)
            self.size += len(row)
            self._moved = at if self._moved is None else min(self._moved, at)

    def _row(self, article_id: str, dated: Dated) -> bytes:
        row = self._rows.get(article_id)
        if row is None:
            row = self._rows[article_id] = _entry_row(self.base_url, article_id, dated)[1]
        return row

    def parts(self) -> int:
        return -(-len(self.ids) // self.per_part)

    def part(self, index: int, entries: Mapping[str, Dated]) -> list[bytes]:
        return [self._row(i, entries[i])
                for i in self.ids[index * self.per_part:(index + 1) * self.per_part]]

    def all_rows(self, entries: Mapping[str, Dated]) -> list[bytes]:
        return [self._row(i, entries[i]) for i in self.ids]

    def take_changed(self, entries: Mapping[str, Dated]) -> set[int]:
        """The parts (from 0) whose rows changed since the last call; dates them anew."""
        count, size = self.parts(), self.per_part
        changed = {at // size for at in self._touched}
        if self._moved is not None:
            changed |= set(range(self._moved // size, count))
        changed = {index for index in changed if index < count}
        del self.part_lastmods[count:]
        self.part_lastmods.extend([""] * (count - len(self.part_lastmods)))
        for index in changed:
            newest = max((entries[i] for i in self.ids[index * size:(index + 1) * size]),
                         key=lambda dated: dated.updated_at)
            self.part_lastmods[index] = render.sitemap_lastmod(newest.updated)
        self._moved, self._touched = None, set()
        return changed

    def let_go(self) -> None:
        """After a pass: keep the rendered rows of the newest part alone."""
        newest = set(self.ids[(self.parts() - 1) * self.per_part:]) if self.ids else set()
        self._rows = {i: row for i, row in self._rows.items() if i in newest}


class _Pages:
    """The rows of the index page and of the tag pages (by slug)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.index: Row = _row(f"{base_url}/", "")
        self.tags: dict[str, tuple[str, Row]] = {}  # tag key -> slug, row
        self._sorted: list[Row] | None = None
        self.changed = True  # since the last call of ``take_changed``

    def update(self, keys: Iterable[str], summaries: Mapping[str, TagSummary]) -> None:
        """The rows of the tags ``keys`` anew (changed, new or gone)."""
        for key in keys:
            summary, old = summaries.get(key), self.tags.pop(key, None)
            if summary is not None:
                page = layout.feed_links(self.base_url, summary.slug).page
                self.tags[key] = (summary.slug,
                                  _row(page, render.sitemap_lastmod(summary.updated)))
                if old == self.tags[key]:
                    continue
            if old is not None or summary is not None:
                self.changed, self._sorted = True, None

    def date_index(self, newest: str) -> None:
        """The index page changes with the newest article (as the all feed's updated)."""
        if newest != self.index[0]:
            self.index, self.changed = _row(f"{self.base_url}/", newest), True

    def rows(self) -> list[Row]:
        if self._sorted is None:
            self._sorted = [row for _, row in sorted(self.tags.values())]
        return [self.index, *self._sorted]

    def take_changed(self) -> bool:
        changed, self.changed = self.changed, False
        return changed


class Sitemaps:
    """The sitemaps of one feeds folder, as the passes left them (in memory only: a
    fresh publisher's first pass renders them all, and the writer keeps equal bytes)."""

    def __init__(self, settings: Settings, part_size: int | None = None) -> None:
        self.settings = settings
        self.base_url = settings.base_url
        self.part_size = part_size or PART_SIZE
        # Article rows all have one length (uuid ids, dates of one length): cut by count.
        probe = len(_row(layout.article_url(self.base_url, "0" * 36), "0" * 20)[1])
        self.articles = _Articles(self.base_url, max(1, min(self.part_size,
                                                            PART_BYTES // probe)))
        self.pages = _Pages(self.base_url)
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
        files, stale = self._sitemap(writer, entries, cold)
        self.articles.let_go()
        files.update(self._news(releases, dirty, now, cold))
        if cold:
            files.update(render.robots_file(self.base_url))
        for path, data in files.items():
            writer.write(path, data, stamp)
        for path in stale:
            writer.remove(path)
        self.built = True

    def _sitemap(self, writer: SiteWriter, entries: Mapping[str, Dated],
                 cold: bool) -> tuple[dict[str, bytes], list[str]]:
        """sitemap.xml and those of its parts that changed; and the parts now stale."""
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
            files.update(render.sitemap_part_file(index + 1, articles.part(index, entries)))
        lastmods: list[str | None] = [lastmod or None for lastmod in articles.part_lastmods]
        # The pages' parts follow the articles': a new article part renumbers them.
        moved = cold or count != self.article_parts
        for number, chunk in enumerate(_chunks(rows, self.part_size), count + 1):
            lastmods.append(max(lastmod for lastmod, _ in chunk) or None)
            if pages_changed or moved:
                files.update(render.sitemap_part_file(number, [row for _, row in chunk]))
        if files or lastmods != self.parts:
            files.update(render.sitemap_index_file(self.base_url, enumerate(lastmods, 1)))
        return files, self._stale(writer, lastmods, count, cold)

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


def _entry_row(base_url: str, article_id: str, dated: Dated) -> Row:
    return _row(layout.article_url(base_url, article_id), render.sitemap_lastmod(dated.updated))


def _arrival(order_key: Key) -> Key:
    """``views.order``'s key (newest arrival first) turned around: oldest first."""
    return (-order_key[0], -order_key[1], order_key[2])
