"""The seed format: a file's bytes to articles (DESIGN section 1).

Two formats share one entry point. The news dump (``dump``): headers that carry
headline and tags (``header``), marked by a doubled line or a following
``Release time:`` line, body paragraphs separated by blank lines, page furniture
(the running header of a paginated page) dropped. And one article with YAML front
matter (``frontmatter``), for people who write by hand. Everything returns values;
the only I/O is ``read_seed``.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path

from service.model import Article
from service.seed.decoding import BinaryFile, decode
from service.seed.dump import parse_dump
from service.seed.folder import cannot_read, not_a_file
from service.seed.frontmatter import parse_structured
from service.seed.problems import Problem, UnreadableSeed, error, warning


@dataclass(frozen=True)
class SeedFile:
    """What one seed file publishes, and what the reader noticed on the way."""

    path: str
    articles: tuple[Article, ...]
    warnings: tuple[Problem, ...]
    encoding: str


def read_seed(file: Path, name: str | None = None, *, timezone: tzinfo = UTC,
              max_size: int = 10 * 1024 * 1024) -> SeedFile:
    """Read and parse one seed file; any failure is a ``SeedError`` naming it. Only a
    regular file is read: a FIFO is opened without waiting for a writer, and refused."""
    name = str(file) if name is None else name
    try:
        descriptor = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise error(name, None, not_a_file(info.st_mode))
            if info.st_size > max_size:
                raise error(name, None, f"file is {_mib(info.st_size)}, over the "
                                        f"{_mib(max_size)} limit (setting max_file_size)")
            with open(descriptor, "rb", closefd=False) as stream:
                data = stream.read(max_size + 1)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise UnreadableSeed(Problem(name, None, _unreadable(file, exc))) from None
    if len(data) > max_size:
        raise error(name, None, f"file grew past the {_mib(max_size)} limit while being read")
    return parse_seed(data, name, timezone=timezone)


def _unreadable(file: Path, exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "file vanished before it could be read"
    if exc.errno == errno.ENXIO:  # what opening a socket says
        try:
            return not_a_file(os.stat(file).st_mode)
        except OSError:
            pass
    return cannot_read(exc)


def parse_seed(data: bytes, path: str, *, timezone: tzinfo = UTC) -> SeedFile:
    """Parse a seed file's bytes; ``path`` names it in every message and article."""
    try:
        decoded = decode(data)
    except BinaryFile as exc:
        raise error(path, exc.line, str(exc)) from None
    notes = [warning(path, line, message) for line, message in decoded.notes]
    lines = decoded.text.split("\n")
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    if first is None:
        notes.append(warning(path, None, "empty file: nothing to publish yet"))
        return SeedFile(path, (), tuple(notes), decoded.encoding)
    if first == 0 and lines[0].strip() == "---":
        articles = parse_structured(lines, path, timezone, notes)
    else:
        articles = parse_dump(lines, path, timezone, notes, decoded.printable)
    return SeedFile(path, tuple(articles), tuple(notes), decoded.encoding)


def _mib(size: int) -> str:
    return f"{size / 1048576:.1f} MiB" if size >= 1048576 else f"{size:,} bytes"
