"""A site published to a bucket of the test store: its own seeds, feeds, state and
bucket, the seedfeeds commands run against it through the recording proxy, and what
the bucket holds."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.processes import ROOT, SEEDFEEDS
from support.seaweed import Recorder, Request, client, environment, objects, writes

PREFIX = "news"


def seed(title: str, tags: str, date: str = "2024-04-14 03:24", body: str = "Body.") -> str:
    """One article in the dump format: the header twice, its release time, a paragraph.
    The title ends with a full stop, so that no word of it is taken for a tag."""
    header = f"{title.rstrip('.')}. | {tags}"
    return f"{header}\n{header}\nRelease time: {date}\n\n{body}\n"


class MirroredSite:
    """Folders under ``root`` and a new bucket, published through ``recorder``."""

    def __init__(self, root: Path, recorder: Recorder, store_url: str,
                 prefix: str = PREFIX) -> None:
        self.root, self.recorder, self.prefix = root, recorder, prefix
        self.seeds, self.feeds, self.state = root / "seeds", root / "feeds", root / "state.sqlite"
        self.seeds.mkdir(parents=True, exist_ok=True)
        self.bucket = f"t-{uuid.uuid4().hex[:12]}"
        self.s3 = client(store_url)
        self.s3.create_bucket(Bucket=self.bucket)
        self.target = f"s3://{self.bucket}/{prefix}" if prefix else f"s3://{self.bucket}"

    def write(self, name: str, text: str) -> Path:
        path = self.seeds / name
        path.write_text(text, "utf-8")
        return path

    def archive(self, *paths: str) -> None:
        """Frozen archives written into feeds/ by the real writer, as a pass writes them."""
        from service.publish.writer import SiteWriter

        writer = SiteWriter(self.feeds)
        for path in paths:
            writer.write(path, f"<feed><id>{path}</id></feed>\n".encode(), datetime.now(UTC))

    def options(self, *extra: str) -> list[str]:
        return ["--seeds", str(self.seeds), "--feeds", str(self.feeds), "--state",
                str(self.state), "--base-url", "http://news.test", "--publish-to",
                self.target, *extra]

    def run(self, command: str, *arguments: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``seedfeeds COMMAND ARGUMENTS`` through the proxy; its output as text."""
        return subprocess.run([*SEEDFEEDS, command, *arguments], capture_output=True,
                              text=True, cwd=ROOT, timeout=timeout,
                              env=env or environment(self.recorder.url))

    def build(self, *extra: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run("build", *self.options(*extra), **kwargs)

    def objects(self) -> dict[str, bytes]:
        """The site's objects (the publisher's own, under .seedfeeds/, left out)."""
        stem = f"{self.prefix}/" if self.prefix else ""
        return {path: body for path, body in objects(self.s3, self.bucket, stem).items()
                if not path.startswith(".seedfeeds/")}

    def own(self) -> dict[str, bytes]:
        """The publisher's own objects: its record of the bucket, its lock."""
        stem = f"{self.prefix}/.seedfeeds/" if self.prefix else ".seedfeeds/"
        return objects(self.s3, self.bucket, stem)

    def served(self) -> dict[str, bytes]:
        """What the web serves from feeds/, read from the folder: every file but the .gz
        siblings, the manifest, status files and dotfiles."""
        skip = {"index.json", "status.json", "websub.json", "mirror.json"}
        return {path.relative_to(self.feeds).as_posix(): path.read_bytes()
                for path in self.feeds.rglob("*")
                if path.is_file() and not path.name.startswith(".")
                and path.suffix != ".gz" and path.relative_to(self.feeds).as_posix() not in skip}

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def head(self, path: str) -> dict[str, Any]:
        return self.s3.head_object(Bucket=self.bucket, Key=self.key(path))

    def writes(self, requests: list[Request]) -> list[tuple[str, str]]:
        return writes(requests, self.bucket, self.prefix)

    def status(self) -> dict[str, Any]:
        """feeds/mirror.json, what the web shows of the mirror."""
        try:
            return json.loads((self.feeds / "mirror.json").read_bytes())
        except (OSError, ValueError):
            return {}
