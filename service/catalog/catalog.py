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
    # tag key -> its article ids, in no order: a list, where a set would cost five times
    # the memory (a tag's few changes in a pass are applied at its end, in one sweep)
    tag_ids: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # tag key -> display name
    # id -> its copies by path, for the ids several files hold; an id one file holds
    # has one copy, the one published (a dict, or an entry, per article would be a
    # large part of the catalog's memory)
    _copies: dict[str, dict[str, Brief]] = field(default_factory=dict)
    _spellings: dict[str, Counter[str]] = field(default_factory=dict)
    _shared: set[str] = field(default_factory=set)  # ids in more than one file
    _paths: dict[str, str] = field(default_factory=dict)  # shown name -> path, where unlike

    def update(self, files: Mapping[str, Sequence[Brief] | None]) -> Change:
        """Replace the articles of the given files (None: the file is gone)."""
        working: dict[str, Copies] = {}  # the copies of the ids touched, as they end up

        def copies_of(article_id: str) -> Copies:
            if article_id in working:
                return working[article_id]
            return self._copies.get(article_id) or self.articles.get(article_id)
        for path, articles in files.items():
            if shown(path) != path:
                self._paths[shown(path)] = path
            for article in self.files.pop(path, ()):
                working[article.id] = _without(copies_of(article.id), article)
            kept: dict[str, Brief] = {}
            for article in articles or ():
                if article.id not in kept:  # the same article twice in one file: the first
                    kept[article.id] = article
                    working[article.id] = self._with(copies_of(article.id), article, path)
            if articles is not None:
                self.files[path] = tuple(kept.values())
        changed: set[str] = set()
        tags: set[str] = set()
        leaving: dict[str, set[str]] = {}  # tag key -> ids that leave its index
        arriving: dict[str, list[str]] = {}  # tag key -> ids that join it
        for article_id, copies in working.items():
            if isinstance(copies, dict):
                self._copies[article_id] = copies
                self._shared.add(article_id)  # in several files: a warning to give
            else:
                self._copies.pop(article_id, None)
                self._shared.discard(article_id)
            before = self.articles.get(article_id)
            after = copies[min(copies)] if isinstance(copies, dict) else copies
            if before is after:
                continue
            if before is not None and after is not None and after.digest == before.digest:
                self.articles[article_id] = after  # moved or renamed file: same content
                continue
            changed.add(article_id)
            if before is not None:
                self._unindex(before, leaving)
                tags.update(map(tag_key, before.tags))
            if after is None:
                del self.articles[article_id]
            else:
                self.articles[article_id] = after
                self._index(after, arriving)
                tags.update(map(tag_key, after.tags))
        self._reindex(leaving, arriving)
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

    def _with(self, copies: Copies, article: Brief, path: str) -> Copies:
        """``copies`` with ``article``, the copy of the file at ``path``, among them."""
        if copies is None:
            return article
        if isinstance(copies, dict):
            copies[path] = article
            return copies
        return {self._paths.get(copies.source, copies.source): copies, path: article}

    def _index(self, article: Brief, arriving: dict[str, list[str]]) -> None:
        for name in article.tags:
            key = tag_key(name)
            arriving.setdefault(key, []).append(article.id)
            spellings = self._spellings.get(key)
            if spellings is None:
                spellings = self._spellings[key] = Counter()
            spellings[name] += 1

    def _unindex(self, article: Brief, leaving: dict[str, set[str]]) -> None:
        for name in article.tags:
            key = tag_key(name)
            leaving.setdefault(key, set()).add(article.id)
            spellings = self._spellings[key]
            spellings[name] -= 1
            if spellings[name] <= 0:
                del spellings[name]

    def _reindex(self, leaving: dict[str, set[str]], arriving: dict[str, list[str]]) -> None:
        """Apply an update's changes to the tag index: each tag's ids that leave are
        swept out at once (an edited article leaves and joins again)."""
        for key, gone in leaving.items():
            ids = self.tag_ids[key]
            ids[:] = [i for i in ids if i not in gone]
        for key, joined in arriving.items():
            if key in self.tag_ids:
                self.tag_ids[key] += joined
            else:
                self.tag_ids[key] = joined

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


Copies = Brief | dict[str, Brief] | None  # an id's one copy, or its copies by path


def _without(copies: Copies, article: Brief) -> Copies:
    """``copies`` without ``article``: one copy left is no longer a dict."""
    if copies is article:
        return None
    if isinstance(copies, dict):
        for where, copy in list(copies.items()):
            if copy is article:
                del copies[where]
        if len(copies) == 1:
            return next(iter(copies.values()))
        return copies or None
    return copies
