"""Churn: how the seed files change, as people and tools change them."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .plan import Plan
from .truth import Truth
from .violations import say

_VOCABULARY = """harbour ferry council market river bridge school festival museum station
library harvest storm rescue volunteers mayor report plan budget park garden tram bus night
morning summer winter record crowd season opening"""
WORDS = _VOCABULARY.split()
CHINESE = ("港口迎来新的渡轮，市民今天早上排队登船。图书馆周一重新开放，三个分馆延长开放时间。"
           "夜班公交恢复运营，东郊居民出行更加方便。秋收进入高峰，农民抢抓晴好天气收割。")


SLOW_WRITER = """
import random, sys, time
target, seed, cuts = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
data, rng, done, longest = sys.stdin.buffer.read(), random.Random(seed), 0, 0.0
with open(target, "wb") as stream:
    last = time.monotonic()
    for cut in map(int, cuts):
        stream.write(data[done:cut])
        stream.flush()
        longest, last, done = max(longest, time.monotonic() - last), time.monotonic(), cut
        time.sleep(rng.uniform(0.05, 0.25))
print(longest)
"""  # the slow writer's child process: writes stdin to target in chunks; prints its longest pause


@dataclass
class ChurnCounts:
    """Files churned, by kind of change."""

    kinds: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, n: int = 1) -> None:
        self.kinds[kind] += n


class Churn:
    """Changes seeds/ at random, as people and tools do, keeping the truth in step."""

    def __init__(self, seeds: Path, truth: Truth, rng: random.Random, hot: list[str],
                 plan: Plan, server_up: threading.Event, stop: threading.Event,
                 started: float) -> None:
        self.seeds, self.truth, self.rng, self.hot = seeds, truth, rng, hot
        self.plan, self.server_up, self.stop, self.started = plan, server_up, stop, started
        self.counts = ChurnCounts()
        self.serial = 0
        self.corpus = set(truth.paths())
        self.removed: list[tuple[str, bytes]] = []  # deleted files, to bring back later
        self.errors = 0
        # Inside a slow write; the server reads a file once it is quiet for 1 s, so
        # this must stay below that for a half publication to be the server's fault.
        self.longest_pause = 0.0
        self.operations: list[tuple[Callable[[], None], int]] = [
            (self.add, 20), (self.burst_add, 2), (self.body_edit, 12),
            (self.headline_edit, 8), (self.rename, 6), (self.move, 6), (self.delete, 18),
            (self.burst_delete, 1), (self.readd, 3), (self.duplicate, 4),
            (self.slow_write, 3), (self.gb18030, 3), (self.garbage, 3), (self.corrupt, 3),
            (self.repair, 2), (self.bad_bytes, 2)]

    def run(self) -> None:
        """Random changes, about 1.4 a second, until told to stop."""
        do, weights = zip(*self.operations, strict=True)
        while not self.stop.wait(min(self.rng.expovariate(1 / 0.7), 3.0)):
            operation = self.rng.choices(do, weights)[0]
            try:
                operation()
            except OSError as exc:  # a bug of this script: say so, carry on
                self.errors += 1
                say(f"churn {operation.__name__} failed: {exc}", self.started)

    # --- writing -----------------------------------------------------------------

    def _put(self, path: str, data: bytes, atomic: bool = True) -> None:
        """Write a whole file: to a dotted temp file renamed into place (what most
        editors do), or in place (truncate, then write: a moment of empty file)."""
        target = self.seeds / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.soak")
        if atomic:
            temp.write_bytes(data)  # a dotfile: the server ignores it
        with self.truth.lock:
            if atomic:
                version = self.truth.version(path, data)
                os.replace(temp, target)
            elif path in self.truth.files:
                empty = self.truth.version(path, b"")
                with open(target, "wb") as stream:
                    self.truth.written(empty)
                    version = self.truth.version(path, data)
                    stream.write(data)
            else:
                version = self.truth.version(path, data)
                target.write_bytes(data)
            self.truth.written(version)

    def _new_path(self, stem: str = "soak") -> str:
        self.serial += 1
        folder = self.rng.choice(["", "", "", "desk-1/", "desk-2/"])
        return f"{folder}{stem}-{self.serial:05d}.txt"

    def _article(self, dated: bool | None = None) -> str:
        """One new article in the dump format: most undated, some dated in the past,
        a few due in the next minutes (the server must hold them back until then)."""
        self.serial += 1
        words = " ".join(self.rng.choices(WORDS, k=self.rng.randint(3, 7)))
        headline = f"Soak story {self.serial} {words}{self.rng.choice('.!?')}"
        tags = ["Soak Desk", *self.rng.sample(self.hot, self.rng.randint(1, 3))]
        if self.rng.random() < 0.05:
            tags.append(f"Soak Beat {self.rng.randint(1, 40)}")
        header = f"{headline} {' | '.join(tags)}"
        dated = self.rng.random() < 0.25 if dated is None else dated
        if dated:
            ahead = self.rng.random() < 0.35
            offset = self.rng.uniform(15, 150) if ahead else -self.rng.uniform(3600, 6e7)
            when = datetime.fromtimestamp(int(time.time() + offset), UTC)
            top = f"{header}\nRelease time:{when:%Y-%m-%d %H:%M:%S}"
        else:
            top = f"{header}\n{header}"
        body = "\n\n".join(" ".join(self.rng.choices(WORDS, k=self.rng.randint(20, 80)))
                           .capitalize() + "." for _ in range(self.rng.randint(1, 3)))
        return f"{top}\n\n{body}\n"

    def _articles(self, n: int) -> bytes:
        return "\n".join(self._article() for _ in range(n)).encode()

    # --- the operations ------------------------------------------------------------

    def add(self) -> None:
        self._put(self._new_path(), self._articles(self.rng.randint(1, 4)),
                  atomic=self.rng.random() < 0.7)
        self.counts.add("added")

    def burst_add(self) -> None:
        for _ in range(20):
            self._put(self._new_path("burst"), self._articles(self.rng.randint(1, 3)),
                      atomic=False)
        self.counts.add("added in bursts", 20)

    def burst_delete(self) -> None:
        victims = [p for p in self.truth.paths() if p not in self.corpus]
        for path in self.rng.sample(victims, min(20, len(victims))):
            self._delete(path)
            self.counts.add("deleted in bursts")

    def delete(self) -> None:
        paths = self.truth.paths()
        soak = [p for p in paths if p not in self.corpus]
        pool = paths if not soak or self.rng.random() < 0.08 else soak
        self._delete(self.rng.choice(pool))
        self.counts.add("deleted")

    def _delete(self, path: str) -> None:
        with self.truth.lock:
            self.removed.append((path, self.truth.data(path)))
            (self.seeds / path).unlink()
            self.truth.deleted(path)

    def readd(self) -> None:
        """A deleted file comes back: same articles, so the same ids and dates."""
        if not self.removed:
            return
        path, data = self.removed.pop(self.rng.randrange(len(self.removed)))
        if path in self.truth.files:
            path = self._new_path("back")
        self._put(path, data)
        self.counts.add("restored")

    def body_edit(self) -> None:
        """A paragraph added after one article's header: same id, new `updated`."""
        edited = self._edit(lambda lines, i, header: lines.insert(
            self._body_start(lines, i, header), f"Soak edit {self.serial}: "
            f"{' '.join(self.rng.choices(WORDS, k=12))}.\n"))
        if edited:
            self.counts.add("body edits")

    def headline_edit(self) -> None:
        """One article's headline changes: a new id, the old one unpublished."""
        def retitle(lines: list[str], i: int, header: str) -> None:
            lines[i] = f"Update: {header}"
            if i + 1 < len(lines) and lines[i + 1] == header:
                lines[i + 1] = lines[i]
        if self._edit(retitle):
            self.counts.add("headline edits")

    @staticmethod
    def _body_start(lines: list[str], i: int, header: str) -> int:
        """The line after an article's header block (doubled header, release time)."""
        j = i + 1
        if j < len(lines) and lines[j] == header:
            j += 1
        if j < len(lines) and lines[j].lower().startswith("release time"):
            j += 1
        return j

    def _edit(self, change: Callable[[list[str], int, str], None]) -> bool:
        """Apply ``change`` to one article of a UTF-8 file that parses."""
        path = self._pick(ok=True)
        if path is None:
            return False
        data = self.truth.data(path)
        parsed = self.truth.reader.articles(data, path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if not parsed:
            return False
        lines = text.split("\n")
        i = self.rng.choice(parsed).line - 1
        change(lines, i, lines[i])
        self._put(path, "\n".join(lines).encode(), atomic=self.rng.random() < 0.7)
        return True

    def rename(self) -> None:
        path = self._pick()
        if path is not None:
            folder = path.rpartition("/")[0]
            self.serial += 1
            self._rename(path, f"{folder}/renamed-{self.serial:05d}.txt".lstrip("/"))
            self.counts.add("renamed")

    def move(self) -> None:
        path = self._pick()
        if path is not None:
            folder = f"desk-{self.rng.randint(1, 6)}/section-{self.rng.randint(1, 3)}"
            (self.seeds / folder).mkdir(parents=True, exist_ok=True)
            self._rename(path, f"{folder}/{path.rpartition('/')[2]}")
            self.counts.add("moved into subfolders")

    def _rename(self, src: str, dst: str) -> None:
        if dst in self.truth.files or src == dst:
            return
        with self.truth.lock:
            version = self.truth.version(dst, self.truth.data(src))
            os.rename(self.seeds / src, self.seeds / dst)
            self.truth.written(version)
            self.truth.deleted(src)
        if src in self.corpus:
            self.corpus.discard(src)
            self.corpus.add(dst)

    def duplicate(self) -> None:
        """The same article in a second file: published once, until both are gone."""
        path = self._pick(ok=True)
        if path is None:
            return
        parsed = self.truth.reader.articles(self.truth.data(path), path) or ()
        try:
            lines = self.truth.data(path).decode("utf-8").split("\n")
        except UnicodeDecodeError:
            return
        if not parsed:
            return
        starts = [a.line - 1 for a in parsed] + [len(lines)]
        k = self.rng.randrange(len(parsed))
        copy = "\n".join(lines[starts[k]:starts[k + 1]]).strip("\n") + "\n"
        self._put(self._new_path("copy"), copy.encode())
        self.counts.add("duplicated")

    def slow_write(self) -> None:
        """A large file written through one open file over about two seconds, cut at
        arbitrary bytes: the server must never publish it half written. A child process
        writes it, so that this busy process cannot stall a pause past the second of
        quiet the server waits for; every version it will write is known beforehand."""
        path = self._new_path("slow")
        data = self._articles(self.rng.randint(30, 60))
        cuts = [*sorted(self.rng.sample(range(1, len(data)), 14)), len(data)]
        target = self.seeds / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.truth.lock:
            for cut in cuts[:-1]:
                self.truth.version(path, data[:cut], whole=False)
            final = self.truth.version(path, data)
        writer = subprocess.run(
            [sys.executable, "-c", SLOW_WRITER, str(target), str(self.rng.random()),
             ",".join(map(str, cuts))], input=data, capture_output=True, check=True,
            timeout=60)
        with self.truth.lock:
            self.truth.written(final)
        self.longest_pause = max(self.longest_pause, float(writer.stdout))
        self.counts.add("written slowly")

    def gb18030(self) -> None:
        """A file in GB18030, as Chinese sites export it: must publish like UTF-8."""
        self.serial += 1
        n = self.serial
        header = f"海港新闻第{n}号：新渡轮启航。 Soak Desk | {self.rng.choice(self.hot)}"
        text = f"{header}\n{header}\n\n{CHINESE}\n\n{CHINESE[::-1]}\n"
        self._put(self._new_path("gb"), text.encode("gb18030"))
        self.counts.add("GB18030")

    def garbage(self) -> None:
        """A new binary file: random bytes, NULs, or text with a zeroed tail."""
        kind = self.rng.choice(["random bytes", "NUL-filled", "zeroed tail"])
        size = self.rng.randint(500, 20_000)
        data = {"random bytes": lambda: self.rng.randbytes(size),
                "NUL-filled": lambda: b"\0" * size,
                "zeroed tail": lambda: self._articles(2) + b"\0" * 4096}[kind]()
        self._put(self._new_path("bin"), data, atomic=self.rng.random() < 0.5)
        self.counts.add(f"binary ({kind})")

    def corrupt(self) -> None:
        """A published file turns binary: its last good articles stay published.
        Only a file the server has surely read (unchanged for longer than it takes)."""
        path = self._pick(ok=True, quiet=self.plan.settle)
        if path is not None:
            self._put(path, self.rng.randbytes(self.rng.randint(500, 5000)))
            if not self.server_up.is_set():  # a restarting server may read it broken first
                self.truth.doubt(path)
            self.counts.add("good file turned binary")

    def repair(self) -> None:
        bad = self.truth.paths(ok=False)
        if bad:
            self._put(self.rng.choice(bad), self._articles(self.rng.randint(1, 3)))
            self.counts.add("binary file repaired")

    def bad_bytes(self) -> None:
        """Text with a few invalid bytes: published, the bytes replaced."""
        data = self._articles(2).replace(b" the ", b" caf\xe9 ", 2) + b"\xff\xfe odd\n"
        self._put(self._new_path("latin"), data)
        self.counts.add("invalid bytes in text")

    def _pick(self, ok: bool | None = None, quiet: float = 0.0) -> str | None:
        paths = self.truth.paths(ok, quiet)
        return self.rng.choice(paths) if paths else None
