"""The rows of the sitemaps: the article pages in arrival order, the index and the tag
pages; which parts changed since a pass last asked (``publish.sitemaps`` writes them).

A pass that adds one article to a site of 100,000 must cost a few milliseconds here:
nothing is sorted again (a bisect places each changed article), and a part is joined
again only when one of its rows changed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from service import layout
from service.model import TagSummary
from service.publish.dating import Dated
from service.render import files as render

Key = tuple[float, float, str]  # (arrival, published, id): oldest arrival first
Row = tuple[str, bytes]  # a page's lastmod ("" if unknown) and its rendered <url>


def page_row(loc: str, lastmod: str) -> Row:
    return lastmod, render.sitemap_row(loc, lastmod or None)


class ArticleRows:
    """The article pages in arrival order, and which parts changed since asked.

    Only the ids are kept, in order (8 bytes an article): a row is rendered when its part
    is joined, and only the newest part's rows are kept, as each new article joins that
    part again."""

    def __init__(self, base_url: str, per_part: int) -> None:
        self.base_url, self.per_part = base_url, per_part
        self._row_base = row_length(base_url, "")
        self.ids: list[str] = []  # oldest arrival first
        self.size = 0  # bytes of every row
        self.part_lastmods: list[str] = []  # the newest lastmod of each part
        self._rows: dict[str, bytes] = {}  # rows of the newest part, by id
        self._rows_from = 0  # where the newest part began when they were kept
        self._moved: int | None = None  # the first row that moved: every part from its
        self._touched: dict[int, tuple[str, str]] = {}  # rows changed in place: id, old lastmod
        # Each part changed by rows in place alone (no row moved in it), but the newest:
        # its rows' bytes, old and new, so that its published file can be mended.
        self.patches: dict[int, list[tuple[bytes, bytes]]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def rebuild(self, entries: Mapping[str, Dated]) -> None:
        """Every row from scratch, sorted once (a cold pass)."""
        self.ids = sorted(entries, key=lambda i: arrival(entries[i].order))
        self._rows, self._rows_from = {}, self._newest()
        self.size = self._row_base * len(self.ids) + sum(map(len, self.ids))
        self._moved = 0

    def update(self, ids: Iterable[str], entries: Mapping[str, Dated],
               before: Mapping[str, Dated]) -> None:
        """The rows of ``ids`` (changed, new or gone) anew: a bisect each. ``before``:
        their entries before the pass changed them, where they had one."""
        order, ids = self.ids, list(ids)
        leaving = {i for i in ids if i in before}  # in the list, at their old place

        def place(article_id: str) -> Key:
            dated = before[article_id] if article_id in leaving else entries[article_id]
            return arrival(dated.order)
        stayed: dict[str, str] = {}  # ids at the same place: their old lastmods
        for article_id in ids:
            old, new = before.get(article_id), entries.get(article_id)
            if old is None:
                continue
            at = bisect_left(order, arrival(old.order), key=place)
            if at == len(order) or order[at] != article_id:
                continue  # not listed: nothing to take out
            self._rows.pop(article_id, None)
            if new is not None and new.order == old.order:  # edited, or only looked at
                stayed[article_id] = render.sitemap_lastmod(old.updated)
                continue
            self.size -= self._row_base + len(article_id)
            del order[at]
            leaving.discard(article_id)
            self._moved = at if self._moved is None else min(self._moved, at)
        leaving.clear()  # every id left in the list is at its place now
        for article_id in ids:
            new = entries.get(article_id)
            if new is None:
                continue
            at = bisect_left(order, arrival(new.order), key=place)
            if article_id in stayed:  # its row changes with its lastmod alone
                if render.sitemap_lastmod(new.updated) != stayed[article_id]:
                    self._touched[at] = (article_id, stayed[article_id])
                continue
            order.insert(at, article_id)
            self.size += self._row_base + len(article_id)
            self._moved = at if self._moved is None else min(self._moved, at)

    def rows_of(self, ids: list[str], entries: Mapping[str, Dated], keep: bool) -> list[bytes]:
        """Articles' rows, rendered unless kept; kept if ``keep`` (the newest part's)."""
        kept = self._rows
        missing = [i for i in ids if i not in kept]
        made = dict(zip(missing, render.article_sitemap_rows(
            self.base_url, [(i, entries[i].updated) for i in missing]), strict=True))
        if keep:
            kept.update(made)
        return [kept[i] if i in kept else made[i] for i in ids]

    def _newest(self) -> int:
        """Where the newest part begins."""
        return max(0, self.parts() - 1) * self.per_part

    def parts(self) -> int:
        return -(-len(self.ids) // self.per_part)

    def part(self, index: int, entries: Mapping[str, Dated]) -> list[bytes]:
        return self.rows_of(self.ids[index * self.per_part:(index + 1) * self.per_part],
                            entries, index == self.parts() - 1)

    def all_rows(self, entries: Mapping[str, Dated]) -> list[bytes]:
        return self.rows_of(self.ids, entries, self.parts() <= 1)

    def take_changed(self, entries: Mapping[str, Dated]) -> set[int]:
        """The parts (from 0) whose rows changed since the last call; dates them anew."""
        count, size = self.parts(), self.per_part
        changed = {at // size for at in self._touched}
        if self._moved is not None:
            changed |= set(range(self._moved // size, count))
        changed = {index for index in changed if index < count}
        del self.part_lastmods[count:]
        self.part_lastmods.extend([""] * (count - len(self.part_lastmods)))
        moved = count if self._moved is None else self._moved // size
        # The parts changed by rows in place alone, each an edit that raised its lastmod:
        # their newest lastmod is the old one or an edited row's (no walk of the part).
        raised: dict[int, list[str] | None] = {}
        self.patches = {}
        for at, (article_id, lastmod) in sorted(self._touched.items()):
            index, now = at // size, render.sitemap_lastmod(entries[article_id].updated)
            known = raised.setdefault(index, [])
            if known is None or index >= moved or now < lastmod:
                raised[index] = None
            else:
                known.append(now)
            if index < min(moved, count - 1):  # the newest part's rows are kept anyway
                self.patches.setdefault(index, []).append((
                    article_row(self.base_url, article_id, lastmod),
                    article_row(self.base_url, article_id, now)))
        for index in changed:
            lastmods = raised.get(index)
            if lastmods and self.part_lastmods[index]:
                self.part_lastmods[index] = max(self.part_lastmods[index], *lastmods)
                continue
            newest = max((entries[i] for i in self.ids[index * size:(index + 1) * size]),
                         key=lambda dated: dated.updated_at)
            self.part_lastmods[index] = render.sitemap_lastmod(newest.updated)
        self._moved, self._touched = None, {}
        return changed

    def let_go(self) -> None:
        """After a pass: once a new part began, let the last one's rows go."""
        if self._newest() != self._rows_from:
            # By the new part's few ids, not the last part's 50,000 rows (23 ms)
            kept = self._rows
            self._rows = {i: kept[i] for i in self.ids[self._newest():] if i in kept}
            self._rows_from = self._newest()


class PageRows:
    """The rows of the index page and of the tag pages (by slug)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.index: Row = page_row(f"{base_url}/", "")
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
                                  page_row(page, render.sitemap_lastmod(summary.updated)))
                if old == self.tags[key]:
                    continue
            if old is not None or summary is not None:
                self.changed, self._sorted = True, None

    def date_index(self, newest: str) -> None:
        """The index page changes with the newest article (as the all feed's updated)."""
        if newest != self.index[0]:
            self.index, self.changed = page_row(f"{self.base_url}/", newest), True

    def rows(self) -> list[Row]:
        if self._sorted is None:
            self._sorted = [row for _, row in sorted(self.tags.values())]
        return [self.index, *self._sorted]

    def take_changed(self) -> bool:
        changed, self.changed = self.changed, False
        return changed


def article_row(base_url: str, article_id: str, lastmod: str) -> bytes:
    return render.sitemap_row(layout.article_url(base_url, article_id), lastmod)


def row_length(base_url: str, article_id: str) -> int:
    """The bytes of an article's row, whatever its date: ids are uuids, which no escape
    changes, and every lastmod has one length (``render.sitemap_lastmod``)."""
    return len(article_row(base_url, article_id, render.sitemap_lastmod(_EPOCH)))


_EPOCH = datetime.fromtimestamp(0, UTC)


def arrival(order_key: Key) -> Key:
    """``views.order``'s key (newest arrival first) turned around: oldest first."""
    return (-order_key[0], -order_key[1], order_key[2])
