"""Articles' text out of memory: held while a pass or a feed needs it, else spilled.

A site's text is most of its bytes: a million articles of a kilobyte or two each would
need gigabytes to run if the catalog held their paragraphs. So the catalog keeps a
``Brief`` of each article, and its ``Text`` is held only while it is needed: from the
read of its file to the end of the pass, and for as long as a feed's subscription
document lists it. The rest is spilled to a file of this process's own and read back
(one ``pread``) when a page or an archive must be rendered again.

The spill file is anonymous (unlinked at once, in the state's folder): nothing is left
of it when the process ends, however it ends, and a process never reads another's. It
holds nothing the seeds do not: a restart reads every seed file again, and what a file
that fails keeps published is in the state's kept rows. Workers forked by a cold build
read it through the descriptor they inherit. It is appended to, never rewritten in place
(a text spilled is written once), and ``compact`` copies what is live to a fresh file
once the copies nothing points to are most of it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from sys import intern

from service.catalog.catalog import content_hash
from service.model import Article, Brief, Text

# Characters of text held by a pass beyond those the feeds list: past it, the rest of
# a pass's reads are spilled as they come (a cold build of a million articles), so its
# workers read them back. A 100,000-article build holds all of its 120 M characters.
BUDGET = 160 * 1024 * 1024
COMPACT_AT = 64 * 1024 * 1024  # a spill file smaller than this is never compacted
_SEPARATOR = "\x1e"  # never in text: the seed reader removes control characters
_JSON = "\x1f"  # marks a text kept as JSON, should a separator be there after all


class Texts:
    """The texts of a publisher's articles: those held, and the spill file."""

    def __init__(self, folder: Path, budget: int = BUDGET) -> None:
        self.folder, self.budget = folder, budget
        self.held: dict[Brief, None] = {}  # briefs whose text is in memory
        self._chars = 0  # characters held beyond the last ``keep_only``
        self._fd: int | None = None
        self._end = 0  # bytes in the spill file
        self._compacted = 0  # its bytes after the last compaction

    def briefs(self, articles: Sequence[Article]) -> tuple[Brief, ...]:
        """The catalog's form of a file's articles; their text held, or (past the
        budget) spilled at once."""
        out = tuple([brief_of(article) for article in articles])
        self._chars += sum(len(article.title) + len(article.summary)
                           + sum(map(len, article.paragraphs)) for article in articles)
        if self._chars <= self.budget:
            self.held.update(dict.fromkeys(out))
        else:
            self.spill(out)
        return out

    def text(self, brief: Brief) -> Text:
        """An article's text, from memory or from the spill file."""
        body = brief.body
        if isinstance(body, Text):
            return body
        assert self._fd is not None, "a place in a spill file this process never wrote"
        data = os.pread(self._fd, body & 0xFFFFFFFF, body >> 32)
        return _unpack(data.decode("utf-8", "surrogatepass"))

    def article(self, brief: Brief) -> Article:
        """The article as read, text and all (for the state's kept rows)."""
        text = self.text(brief)
        return Article(brief.id, text.title, brief.tags, brief.published, text.paragraphs,
                       text.summary, brief.source, brief.line, brief.markup, brief.link,
                       brief.author)

    def keep_only(self, wanted: Callable[[Brief], bool]) -> None:
        """After a pass: spill every held text but those ``wanted`` (listed by a feed)."""
        self.spill([brief for brief in self.held if not wanted(brief)])
        self.held = dict(self.held)  # a dict keeps the room it once needed: a cold pass's
        self._chars = 0
        self._compacted = self._compacted or self._end

    def spill(self, briefs: Iterable[Brief]) -> None:
        """Write these briefs' texts to the spill file, one write for all; only once it
        is written does a brief point there (a full disk leaves them held, and raises)."""
        held = self.held
        for brief, place in self._write([(brief, brief.body) for brief in briefs
                                         if isinstance(brief.body, Text)]):
            brief.body = place
            held.pop(brief, None)

    def _write(self, texts: Sequence[tuple[Brief, Text]]) -> list[tuple[Brief, int]]:
        """Append texts to the spill file in one write; where each now lies."""
        if not texts:
            return []
        places: list[tuple[Brief, int]] = []
        chunks: list[bytes] = []
        offset = self._end
        for brief, text in texts:
            data = _pack(text).encode("utf-8", "surrogatepass")
            places.append((brief, offset << 32 | len(data)))
            chunks.append(data)
            offset += len(data)
        fd = self._open()
        blob = memoryview(b"".join(chunks))
        written = 0
        while written < len(blob):
            written += os.pwrite(fd, blob[written:], self._end + written)
        self._end = offset
        return places

    def compact(self, live: Iterable[Brief]) -> None:
        """Copy the spilled texts of ``live`` (every brief the publisher still holds) to
        a fresh file, once the file is mostly copies no brief points to any more (files
        read again, passes started afresh): the file stays within twice what is live."""
        if self._fd is None or self._end < COMPACT_AT or self._end < 2 * self._compacted:
            return
        old, old_end = self._fd, self._end
        places: list[tuple[Brief, int]] = []
        self._fd, self._end = None, 0
        try:
            batch: list[tuple[Brief, Text]] = []
            for brief in dict.fromkeys(live):
                body = brief.body
                if isinstance(body, int):
                    data = os.pread(old, body & 0xFFFFFFFF, body >> 32)
                    batch.append((brief, _unpack(data.decode("utf-8", "surrogatepass"))))
                if len(batch) >= 4096:
                    places += self._write(batch)
                    batch = []
            places += self._write(batch)
        except BaseException:
            if self._fd is not None:
                os.close(self._fd)
            self._fd, self._end = old, old_end  # every brief still points into it
            raise
        os.close(old)
        for brief, place in places:
            brief.body = place
        self._compacted = self._end

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.folder, prefix=".seedfeeds-texts-") as spill:
                self._fd = os.dup(spill.fileno())
        return self._fd


def brief_of(article: Article) -> Brief:
    """The catalog's form of an article. Its tag names are interned: a site's few
    hundred names, not a string of each in each of a million articles."""
    tags = tuple([intern(name) for name in article.tags])
    return Brief(article.id, tags, article.published, article.source, article.line,
                 content_hash(article), article.markup, article.link, article.author,
                 Text(article.title, article.summary, article.paragraphs))


def _pack(text: Text) -> str:
    fields = [text.title, text.summary, *text.paragraphs]
    packed = _SEPARATOR.join(fields)
    if packed.count(_SEPARATOR) != len(fields) - 1:
        return _JSON + json.dumps(fields, ensure_ascii=False)
    return packed


def _unpack(packed: str) -> Text:
    fields = json.loads(packed[1:]) if packed.startswith(_JSON) else packed.split(_SEPARATOR)
    return Text(fields[0], fields[1], tuple(fields[2:]))
