"""Cold builds fan out to worker processes; the parent's manifest learns what they wrote."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime

import pytest

from service.publish import fanout
from service.publish.forks import WorkerDied
from service.publish.writer import SiteWriter

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def write_job(writer: SiteWriter):
    def do(job):
        kind, name = job
        path = f"articles/{name}.html" if kind == "page" else f"tags/{name}.atom"
        writer.write(path, f"<p>{name}</p>".encode(), NOW)
    return do


def test_jobs_run_in_two_workers_write_every_file_and_merge_the_manifest(tmp_path):
    writer = SiteWriter(tmp_path)
    jobs = [("page", f"p{i}") for i in range(5000)] + [("feed", f"t{i}") for i in range(10)]
    seen = []
    fanout.run(jobs, write_job(writer), writer, workers=2,
               progress=lambda done, total: seen.append((done, total)))
    assert len(list((tmp_path / "articles").glob("*.html"))) == 5000
    assert {f"tags/t{i}.atom" for i in range(10)} <= set(writer.manifest)
    assert {f"tags/t{i}.atom.gz" for i in range(10)} <= set(writer.manifest)
    assert writer.take_changes().count.written == 5010
    assert seen[-1] == (5010, 5010)
    writer.save_manifest()
    saved = json.loads((tmp_path / "index.json").read_text())["files"]
    assert "tags/t9.atom" in saved


def test_a_workers_report_longer_than_a_pipe_holds_arrives_whole(tmp_path):
    """3,000 feeds and their siblings: each worker's manifest rows come back in several
    reads, and every row reaches the parent's manifest."""
    writer = SiteWriter(tmp_path)
    fanout.run([("feed", f"t{i}") for i in range(3000)], write_job(writer), writer, workers=2)
    assert {f"tags/t{i}.atom{gz}" for i in range(3000) for gz in ("", ".gz")} <= set(
        writer.manifest)


def test_one_worker_runs_the_jobs_here_in_order(tmp_path):
    writer = SiteWriter(tmp_path)
    order = []
    fanout.run([("page", "a"), ("page", "b")], order.append, writer, workers=1)
    assert order == [("page", "a"), ("page", "b")]


def test_batches_are_cut_to_equal_weight_heaviest_jobs_first():
    jobs = [("page", f"p{i}") for i in range(4000)] + [("feed", f"t{i}") for i in range(16)]
    cut = fanout.batches(jobs, lambda job: 250 if job[0] == "feed" else 1)
    assert [len(batch) for batch in cut] == [8, 8, 2000, 2000]
    assert all(job[0] == "feed" for batch in cut[:2] for job in batch)
    assert sorted(job for batch in cut for job in batch) == sorted(jobs)


def test_with_runs_neighbouring_jobs_of_one_weight_stay_in_few_batches():
    jobs = [("archive", n) for n in range(1000)]
    cut = fanout.batches(jobs, lambda job: 10, runs=4)
    assert [len(batch) for batch in cut] == [250, 250, 250, 250]
    assert [job for batch in cut for job in batch] == jobs  # in their order


def test_a_cold_build_on_every_core_writes_the_bytes_of_one_built_here(tmp_path, monkeypatch):
    """Forked workers render the article pages and archives while this process plans
    and renders the rest: the site is the one a single process builds."""
    import subprocess
    import sys
    from pathlib import Path

    from service.config import load_settings
    from service.publish import publisher as publishing

    generator = Path(__file__).resolve().parent.parent / "bench" / "make_corpus.py"
    seeds = tmp_path / "seeds"
    subprocess.run([sys.executable, str(generator), str(seeds), "--articles", "600",
                    "--files", "6", "--tags", "30", "--seed", "7"], check=True)
    sites = {}
    for name, parallel_min in (("forked", 100), ("here", 10**9)):
        monkeypatch.setattr(fanout, "PARALLEL_MIN", parallel_min)
        settings = load_settings({"seeds": str(seeds), "feeds": str(tmp_path / name),
                                  "state": str(tmp_path / f"{name}.sqlite"),
                                  "entries": "10", "archive_size": "5"}, {})
        publisher = publishing.Publisher(settings, clock=lambda: NOW.timestamp())
        publisher.publish()
        publisher.close()
        root = tmp_path / name
        sites[name] = {p.relative_to(root).as_posix(): p.read_bytes()
                       for p in root.rglob("*") if p.is_file() and p.name != "status.json"
                       and not p.name.startswith(".")}
    assert len([p for p in sites["here"] if p.startswith("archive/")]) > 150
    assert sites["forked"].keys() == sites["here"].keys()
    assert [p for p in sites["here"] if sites["forked"][p] != sites["here"][p]] == []


def test_a_job_that_fails_in_a_worker_fails_the_run_with_its_error_and_where(tmp_path):
    writer = SiteWriter(tmp_path)

    def do(job):
        if job == ("page", "p300"):
            raise PermissionError(13, "Permission denied", "articles/p300.html")
        write_job(writer)(job)
    jobs = [("page", f"p{i}") for i in range(600)]
    with pytest.raises(PermissionError) as raised:
        fanout.run(jobs, do, writer, workers=2)
    assert raised.value.filename == "articles/p300.html"
    assert "in a render worker" in "".join(raised.value.__notes__)
    assert "raise PermissionError" in "".join(raised.value.__notes__)  # its traceback
    assert no_children_left()


def test_a_worker_killed_mid_build_fails_the_run_and_leaves_no_process(tmp_path):
    writer = SiteWriter(tmp_path)

    def do(job):
        if job == ("page", "p300"):
            os.kill(os.getpid(), signal.SIGKILL)
        write_job(writer)(job)
    with pytest.raises(WorkerDied, match="killed by signal 9"):
        fanout.run([("page", f"p{i}") for i in range(600)], do, writer, workers=2)
    assert no_children_left()


def test_handing_out_more_jobs_than_a_pipe_holds_never_waits_for_a_busy_worker(tmp_path):
    """The archives of a large site are handed out while the workers still render its
    pages: ``submit`` returns at once, whatever they hold."""
    writer = SiteWriter(tmp_path)
    go = tmp_path / "go"

    def do(job):
        if job[0] == "wait":  # each worker's first job: until the parent has handed out all
            for _ in range(1000):
                if go.exists():
                    return
                time.sleep(0.01)
            raise TimeoutError("submit never returned: it waited for a busy worker")
        write_job(writer)(job[:2])

    def meanwhile(submit):
        for number in range(20):  # 20 runs of 1,000 jobs of 1 kB each: 20 MB to hand out
            submit([("page", f"s{number}-{i}", "x" * 1000) for i in range(1000)])
        go.touch()
    fanout.run([("wait", "a"), ("wait", "b")], do, writer, workers=2, meanwhile=meanwhile)
    assert len(list((tmp_path / "articles").glob("s*.html"))) == 20_000


def no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False
