"""A generated corpus reads back exactly as its generator says it should (--truth)."""

import json
import subprocess
import sys
from pathlib import Path

from service.seed.read import read_seed

GENERATOR = Path(__file__).resolve().parent.parent / "bench" / "make_corpus.py"


def test_every_generated_article_reads_as_its_truth(tmp_path):
    seeds, truth_file = tmp_path / "seeds", tmp_path / "truth.jsonl"
    subprocess.run([sys.executable, str(GENERATOR), str(seeds), "--articles", "5000",
                    "--files", "40", "--tags", "200", "--seed", "7",
                    "--truth", str(truth_file)], check=True)
    truth = [json.loads(line) for line in truth_file.read_text("utf-8").splitlines()]
    got = []
    for path in sorted(seeds.iterdir()):
        seed = read_seed(path, path.name)
        assert seed.warnings == ()
        got += [{"file": path.name, "title": a.title, "tags": list(a.tags),
                 "release": a.published and a.published.replace(tzinfo=None).isoformat(),
                 "paras": len(a.paragraphs)} for a in seed.articles]
    assert len(got) == len(truth) == 5000
    mismatches = [(g, t) for g, t in zip(got, truth, strict=True) if g != t]
    assert mismatches == []
