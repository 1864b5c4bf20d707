"""The benchmark corpus: generated once by make_corpus.py and kept under bench/out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "bench" / "make_corpus.py"


def corpus(articles: int = 100_000, files: int = 1000, tags: int = 200, seed: int = 1) -> Path:
    """The seeds folder of the corpus with these parameters, generated if missing."""
    folder = ROOT / "bench" / "out" / f"corpus-{articles}-{files}-{tags}-{seed}"
    if not (folder / "seeds").is_dir():
        print(f"generating {articles:,} articles in {files:,} files ...", file=sys.stderr)
        generate(folder / "seeds", articles, files, tags, seed, folder / "truth.jsonl")
    return folder / "seeds"


def generate(seeds: Path, articles: int, files: int, tags: int, seed: int,
             truth: Path | None = None) -> None:
    """Run make_corpus.py into ``seeds``, the one place that knows its command line;
    ``truth``: where it also lists what it generated."""
    subprocess.run([sys.executable, str(GENERATOR), str(seeds),
                    "--articles", str(articles), "--files", str(files),
                    "--tags", str(tags), "--seed", str(seed),
                    *(["--truth", str(truth)] if truth else [])], check=True)
