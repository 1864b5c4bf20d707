"""All articles of all seed files, deduplicated, with the tag index and its changes.

The catalog is updated file by file and answers, for each update, which
articles and which tags changed: that difference is what makes a publish pass
render only what it must. The same article (same id) in several files is
published once, from the file whose path sorts first, so the choice never
depends on the order in which files were read.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from service.identity import slugify, tag_key
from service.model import Article, Brief
from service.seed.problems import Problem, shown, warning


@dataclass(frozen=True)
class Change:
    """What one update changed: ids added, removed or edited; tags touched."""

    articles: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()  # tag keys whose articles changed
    renamed: frozenset[str] = frozenset()  # tag keys whose display name changed

    def __bool__(self) -> bool:
        return bool(self.articles or self.tags or self.renamed)


@dataclass
class Catalog:
    """The published articles and tags; mutated only through ``update``."""

    files: dict[str, tuple[Brief, ...]] = field(default_factory=dict)
    articles: dict[str, Brief] = field(default_factory=dict)  # id -> the published copy
    tag_ids: dict[str, set[str]] = field(default_factory=dict)  # tag key -> article ids
    names: dict[str, str] = field(default_factory=dict)  # tag key -> display name
    # id -> its one copy, or its copies by path when several files hold it (a dict per
    # article would be most of the catalog's memory)
    _copies: dict[str, Brief | dict[str, Brief]] = field(default_factory=dict)
    _spellings: dict[str, Counter[str]] = field(default_factory=dict)
    _shared: set[str] = field(default_factory=set)  # ids in more than one file
    _paths: dict[str, str] = field(default_factory=dict)  # shown name -> path, where unlike

    def update(self, files: Mapping[str, Sequence[Brief] | None]) -> Change:
        """Replace the articles of the given files (None: the file is gone)."""
        touched: set[str] = set()
        for path, articles in files.items():
            if shown(path) != path:
                self._paths[shown(path)] = path
            for article in self.files.pop(path, ()):
                self._drop(article)
                touched.add(article.id)
            kept: dict[str, Brief] = {}
            for article in articles or ():
                if article.id not in kept:  # the same article twice in one file: the first
                    kept[article.id] = article
                    self._add(article, path)
                touched.add(article.id)
            if articles is not None:
                self.files[path] = tuple(kept.values())
        changed: set[str] = set()
        tags: set[str] = set()
        for article_id in touched:
            copies = self._copies.get(article_id)
            if isinstance(copies, dict):
                self._shared.add(article_id)  # in several files: a warning to give
            else:
                self._shared.discard(article_id)
            before = self.articles.get(article_id)
            after = self._chosen(copies)
            if before is after:
                continue
            if before is not None and after is not None and after.digest == before.digest:
                self.articles[article_id] = after  # moved or renamed file: same content
                continue
            changed.add(article_id)
            if before is not None:
                self._unindex(before)
                tags.update(map(tag_key, before.tags))
            if after is None:
                del self.articles[article_id]
            else:
                self.articles[article_id] = after
                self._index(after)
                tags.update(map(tag_key, after.tags))
        renamed = {key for key in tags if self._rename(key)}
        return Change(frozenset(changed), frozenset(tags), frozenset(renamed))

    def duplicates(self) -> list[Problem]:
        """A warning for each copy of an article that is not the published one."""
        out: list[Problem] = []
        for article_id in sorted(self._shared):
            copies = self._copies.get(article_id)
            if isinstance(copies, dict):
                chosen = self.articles[article_id]
                out.extend(warning(path, copy.line, f"same article as {chosen.source}:"
                                                    f"{chosen.line}; published once, from there")
                           for path, copy in copies.items() if copy is not chosen)
        return out

    def _add(self, article: Brief, path: str) -> None:
        held = self._copies.get(article.id)
        if held is None:
            self._copies[article.id] = article
        elif isinstance(held, dict):
            held[path] = article
        else:
            self._copies[article.id] = {self._paths.get(held.source, held.source): held,
                                        path: article}

    def _drop(self, article: Brief) -> None:
        held = self._copies.get(article.id)
        if held is article:
            del self._copies[article.id]
        elif isinstance(held, dict):
            for where, copy in list(held.items()):
                if copy is article:
                    del held[where]
            if len(held) == 1:
                self._copies[article.id] = next(iter(held.values()))
            elif not held:
                del self._copies[article.id]

    @staticmethod
    def _chosen(copies: Brief | dict[str, Brief] | None) -> Brief | None:
        """The copy published: the one of the file whose path sorts first."""
        if isinstance(copies, dict):
            return copies[min(copies)]
        return copies

    def _index(self, article: Brief) -> None:
        for name in article.tags:
            key = tag_key(name)
            ids = self.tag_ids.get(key)
            if ids is None:
                ids, self._spellings[key] = set(), Counter()
                self.tag_ids[key] = ids
            ids.add(article.id)
            self._spellings[key][name] += 1

    def _unindex(self, article: Brief) -> None:
        for name in article.tags:
            key = tag_key(name)
            self.tag_ids[key].discard(article.id)
            spellings = self._spellings[key]
            spellings[name] -= 1
            if spellings[name] <= 0:
                del spellings[name]

    def _rename(self, key: str) -> bool:
        """Recompute a tag's display name (its most frequent spelling); True if it changed."""
        spellings = self._spellings.get(key)
        if not spellings:
            self._spellings.pop(key, None)
            if not self.tag_ids.get(key):
                self.tag_ids.pop(key, None)
            return False  # an emptied tag keeps its last name
        # Most frequent first; ties go to the spelling that sorts first, not to file order.
        name = min(spellings.items(), key=lambda item: (-item[1], item[0]))[0]
        if self.names.get(key) == name:
            return False
        renamed = key in self.names
        self.names[key] = name
        return renamed


def content_hash(article: Article) -> bytes:
    """A digest of everything an article shows; its change moves ``updated``. Raw bytes
    in memory (the state stores them as hex)."""
    parts = [article.title, "\x1f".join(article.tags),
             "" if article.published is None else article.published.isoformat(),
             article.summary, article.markup, article.link or "", article.author or "",
             *article.paragraphs]
    return hashlib.sha256("\x1e".join(parts).encode("utf-8", "surrogatepass")).digest()


def assign_slugs(keys: Sequence[str], names: Mapping[str, str],
                 taken: Mapping[str, str]) -> dict[str, str]:
    """Slugs for tags that have none yet: from the display name, made unique with -2, -3..."""
    used = set(taken.values())
    claims = {}
    for key in sorted(keys):
        if key in taken:
            continue
        base = slugify(names.get(key, key))
        slug, number = base, 2
        while slug in used:
            slug, number = f"{base}-{number}", number + 1
        used.add(slug)
        claims[key] = slug
    return claims
