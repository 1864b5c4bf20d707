"""Articles' text out of memory: written to a spill file as it is read, read back when
a page or a feed is rendered.

A site's text is most of its bytes: a million articles of a kilobyte or two each would
need gigabytes to run if the catalog held their paragraphs. So the catalog keeps a
``Brief`` of each article, and its ``Text`` goes to a file of this process's own as
soon as its seed file is read (one write a file); a render reads it back (one
``pread``, from the page cache). What stays in memory is what the feeds list, held by
the entries of the documents last rendered, and the texts read last (``recent``), so
that the archives of one entry in each of its feeds, rendered close together, read it
once. Nothing else: text held through a cold pass was a fifth of what a
100,000-article site kept resident after it, in holes between the objects that live on.

The spill file is anonymous (unlinked at once, in the state's folder): nothing is left
of it when the process ends, however it ends, and a process never reads another's. It
holds nothing the seeds do not: a restart reads every seed file again, and what a file
that fails keeps published is in the state's kept rows. Workers forked by a cold build
read it through the descriptor they inherit. It is appended to, never rewritten in place
(a text is written once), and ``compact`` copies what is live to a fresh file once the
copies nothing points to are most of it.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from sys import intern

from service.catalog.catalog import content_hash
from service.model import Article, Brief, Text

RECENT = 1024  # texts read last, kept while a pass renders
COMPACT_AT = 64 * 1024 * 1024  # a spill file smaller than this is never compacted
_SEPARATOR = "\x1e"  # never in text: the seed reader removes control characters
_JSON = "\x1f"  # marks a text kept as JSON, should a separator be there after all


class Texts:
    """The spill file of a publisher's articles' texts, and the texts read last."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.recent = RECENT  # how many texts read to keep (a cold build's workers: more)
        self._recent: OrderedDict[int, Text] = OrderedDict()  # by place in the file
        self._fd: int | None = None
        self._end = 0  # bytes in the spill file
        self._compacted = 0  # its bytes after the last compaction

    @property
    def size(self) -> int:
        """Bytes in the spill file."""
        return self._end

    def briefs(self, articles: Sequence[Article]) -> tuple[Brief, ...]:
        """The catalog's form of a file's articles, their texts written (one write)."""
        places = self._write([Text(a.title, a.summary, a.paragraphs) for a in articles])
        return tuple([brief_of(article, place)
                      for article, place in zip(articles, places, strict=True)])

    def part(self) -> Texts:
        """A spill file of its own beside this one, opened now: for a reader forked
        after this call to write (``publish.readahead``), and this one to ``adopt``."""
        part = Texts(self.folder)
        part._open()
        return part

    def adopt(self, part: Texts, end: int, briefs: Iterable[Brief]) -> None:
        """Append the first ``end`` bytes of ``part``'s file (another process wrote
        them) to this one, and move ``briefs``, whose texts lie there, to their places
        here. A full disk raises, and no brief is moved."""
        assert part._fd is not None, "a part is opened when it is made"
        fd, at, copied = self._open(), self._end, 0
        while copied < end:
            try:  # in the kernel, no copy through this process
                step = os.copy_file_range(part._fd, fd, end - copied, copied, at + copied)
            except OSError:  # across file systems, or an older kernel
                data = os.pread(part._fd, min(end - copied, 1 << 20), copied)
                step = os.pwrite(fd, data, at + copied)
            if step <= 0:
                raise OSError(f"the spill file of a forked reader ended at {copied} of {end} bytes")
            copied += step
        self._end = at + end
        for brief in briefs:
            brief.body += at << 32

    def text(self, brief: Brief) -> Text:
        """An article's text, read back."""
        place, recent = brief.body, self._recent
        text = recent.get(place)
        if text is None:
            assert self._fd is not None, "a place in a spill file this process never wrote"
            text = recent[place] = _read(self._fd, place)
            while len(recent) > self.recent:
                recent.popitem(last=False)
        return text

    def article(self, brief: Brief) -> Article:
        """The article as read, text and all (for the state's kept rows)."""
        text = self.text(brief)
        return Article(brief.id, text.title, brief.tags, brief.published, text.paragraphs,
                       text.summary, brief.source, brief.line, brief.markup, brief.link,
                       brief.author)

    def let_go(self) -> None:
        """After a pass: forget the texts read (the documents rendered hold theirs)."""
        self._recent = OrderedDict()
        self.recent = RECENT
        self._compacted = self._compacted or self._end

    def compact(self, live: Iterable[Brief]) -> None:
        """Copy the texts of ``live`` (every brief the publisher still holds) to a fresh
        file, once the file is mostly copies no brief points to any more (files read
        again, passes started afresh): the file stays within twice what is live."""
        if self._fd is None or self._end < COMPACT_AT or self._end < 2 * self._compacted:
            return
        old, old_end = self._fd, self._end
        moved: list[tuple[Brief, int]] = []
        self._fd, self._end = None, 0
        try:
            briefs = list(dict.fromkeys(live))
            for at in range(0, len(briefs), 4096):
                batch = briefs[at:at + 4096]
                places = self._write([_read(old, brief.body) for brief in batch])
                moved += zip(batch, places, strict=True)
        except BaseException:
            if self._fd is not None:
                os.close(self._fd)
            self._fd, self._end = old, old_end  # every brief still points into it
            raise
        os.close(old)
        for brief, place in moved:
            brief.body = place
        self._recent = OrderedDict()
        self._compacted = self._end

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _write(self, texts: Sequence[Text]) -> list[int]:
        """Append texts to the spill file in one write; where each now lies (offset and
        length in one int). A full disk raises, and nothing points there."""
        if not texts:
            return []
        places: list[int] = []
        chunks: list[bytes] = []
        offset = self._end
        for text in texts:
            data = _pack(text).encode("utf-8", "surrogatepass")
            places.append(offset << 32 | len(data))
            chunks.append(data)
            offset += len(data)
        fd = self._open()
        blob = memoryview(b"".join(chunks))
        written = 0
        while written < len(blob):
            written += os.pwrite(fd, blob[written:], self._end + written)
        self._end = offset
        return places

    def _open(self) -> int:
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            try:  # a file with no name, gone with the process whatever ends it
                self._fd = os.open(self.folder, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
            except (AttributeError, OSError):  # not Linux, or a file system without it
                import tempfile  # 5 ms that Linux does not need

                with tempfile.TemporaryFile(dir=self.folder, prefix=".seedfeeds-texts-") as spill:
                    self._fd = os.dup(spill.fileno())
        return self._fd


def brief_of(article: Article, place: int) -> Brief:
    """The catalog's form of an article whose text lies at ``place``. Its tag names are
    interned: a site's few hundred names, not a string of each in a million articles."""
    tags = tuple([intern(name) for name in article.tags])
    return Brief(article.id, tags, article.published, article.source, article.line,
                 content_hash(article), article.markup, article.link, article.author, place)


def _read(fd: int, place: int) -> Text:
    data = os.pread(fd, place & 0xFFFFFFFF, place >> 32)
    return _unpack(data.decode("utf-8", "surrogatepass"))


def _pack(text: Text) -> str:
    fields = [text.title, text.summary, *text.paragraphs]
    packed = _SEPARATOR.join(fields)
    if packed.count(_SEPARATOR) != len(fields) - 1:
        return _JSON + json.dumps(fields, ensure_ascii=False)
    return packed


def _unpack(packed: str) -> Text:
    fields = json.loads(packed[1:]) if packed.startswith(_JSON) else packed.split(_SEPARATOR)
    return Text(fields[0], fields[1], tuple(fields[2:]))
