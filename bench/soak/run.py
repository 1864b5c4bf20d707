"""The run: sets everything up, runs each activity on its own thread for the
planned time, kills and restarts the server, audits at the end, tears it all down."""

from __future__ import annotations

import json
import random
import shutil
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .churn import Churn
from .client import Client
from .faults import Deadlines, FaultPhase
from .history import History
from .plan import Plan
from .promises import Promises
from .readers import Readers, Sweep
from .report import MIB, Outcome
from .server import Passes, Server
from .truth import Reader, Truth
from .violations import Violations, say
from corpus import generate

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_EVERY = 2.0  # s between memory samples and window audits


class Soak:
    """Sets the run up, runs its threads for the planned time, and tears it all down."""

    def __init__(self, plan: Plan, workspace: Path) -> None:
        self.plan, self.workspace = plan, workspace
        self.started = time.time()
        self.stop = threading.Event()  # everything stops
        self.calm = threading.Event()  # churn and crashes stop: the final audit
        self.quiet = threading.Event()  # the readers stop too: the final sweep
        self.violations = Violations(self.started)
        self.rng = random.Random(plan.seed)
        self.crashes = self.restarts = 0
        self.threads: list[threading.Thread] = []
        self.log_offset = 0
        self.passes = Passes()
        self.comebacks: list[float] = []
        self.catchups: list[float] = []
        self.steady_until = float("inf")

    def run(self) -> Outcome:
        plan, seeds = self.plan, self.workspace / "seeds"
        self.note(f"seed {plan.seed}; generating {plan.articles:,} articles in "
                  f"{plan.files} files into {self.workspace}")
        generate(seeds, plan.articles, plan.files, plan.tags, plan.seed)
        code = snapshot_code(self.workspace)
        self.truth = Truth(Reader(code))
        self.learn_corpus(seeds)
        self.server = Server(self.workspace, code, plan, self.stop)
        self.note(f"starting the server on 127.0.0.1:{self.server.port}")
        if not self.server.start():
            tail = self.server.log.read_text("utf-8", "replace").splitlines()[-30:]
            raise SystemExit("the server did not start:\n" + "\n".join(tail))
        self.note(f"server up after {time.time() - self.server.lifetimes[0].started:.1f} s; "
                  f"soaking for {plan.minutes:g} min")
        hot = self.hot_tags()
        self.deadlines = Deadlines(plan)
        self.promises = Promises(self.truth, plan, self.violations, self.deadlines)
        self.readers = Readers(self.server, self.truth, self.promises, plan, self.violations,
                               hot, self.quiet)
        self.churn = Churn(seeds, self.truth, self.rng, [self.display[k] for k in hot],
                           plan, self.server.up, self.calm, self.started)
        self.sweep = Sweep(self.readers, self.truth, plan, self.quiet)
        self.history = History(self.promises, self.readers, self.truth, plan,
                               self.violations, self.server)
        self.faults = FaultPhase(plan, self.server, self.truth, self.readers, self.deadlines,
                                 self.violations, self.calm, self.stop, self.started)
        self.readers.fetch(Client(self.server, False), "/subscriptions.opml")
        begun = time.time()
        self.spawn()
        self.stop.wait(plan.minutes * 60)
        self.finish()
        seconds = time.time() - begun
        self.stop.set()
        self.quiet.set()  # the readers, sweepers and history too, if the audit was cut short
        for thread in self.threads:
            thread.join(timeout=40)
        self.scan_log()
        self.save_samples()
        return Outcome(plan, seconds, self.readers.stats, self.churn.counts.kinds,
                       self.churn.longest_pause, self.crashes, self.restarts,
                       self.server.lifetimes, self.violations, len(self.truth.held),
                       self.sweep.rounds, len(self.promises.pages_checked),
                       self.steady_until, self.passes, self.comebacks, self.catchups,
                       self.faults.faults,
                       (len(self.promises.archives), self.history.requests))

    def note(self, message: str) -> None:
        say(message, self.started)

    def learn_corpus(self, seeds: Path) -> None:
        """The generated corpus into the truth, and each tag's display name."""
        names: dict[str, Counter[str]] = {}
        for path in sorted(p.relative_to(seeds).as_posix() for p in seeds.rglob("*.txt")):
            version = self.truth.version(path, (seeds / path).read_bytes())
            self.truth.written(version)
            for article in version.articles or ():
                for name in article.names:
                    names.setdefault(self.truth.reader.tag_key(name), Counter())[name] += 1
        self.display = {key: spellings.most_common(1)[0][0] for key, spellings in names.items()}

    def hot_tags(self) -> list[str]:
        """The tag keys churn writes to: the soak's own, popular, middling and rare ones."""
        ranked = sorted(self.truth.by_tag, key=lambda k: -len(self.truth.by_tag[k]))
        ranked = [k for k in ranked if k in self.display]
        picks = ranked[:3] + ranked[20:23] + ranked[-3:]
        key = self.truth.reader.tag_key("Soak Desk")
        self.display[key] = "Soak Desk"
        return [key, *picks]

    def spawn(self) -> None:
        """Every activity of the run, each on its own thread."""
        plan = self.plan
        jobs: list[tuple[str, Callable[[], None]]] = [
            ("churn", self.churn.run), ("checker", self.check_loop),
            ("history", lambda: self.history.run(SAMPLE_EVERY, self.quiet)),
            ("sampler", self.sample_loop)]
        if plan.crash_every > 0:
            jobs.append(("crasher", self.crash_loop))
        if self.faults.faults:
            jobs.append(("faults", self.faults.run))
        jobs += [(f"reader-{i}", lambda i=i: self.readers.poll(i)) for i in range(plan.clients)]
        jobs += [(f"sweep-{i}", lambda i=i: self.sweep.run(i, 2)) for i in range(2)]
        for name, job in jobs:
            thread = threading.Thread(target=self.guarded(name, job), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)

    def guarded(self, name: str, job: Callable[[], None]) -> Callable[[], None]:
        """A thread that dies of a bug in this script stops the run, loudly."""
        def run() -> None:
            try:
                job()
            except Exception as exc:
                self.violations.report("soak script failure", name, f"{name}: {exc!r}")
                traceback.print_exc()
                self.stop.set()
        return run

    def check_loop(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY):
            self.scan_log()

    def sample_loop(self) -> None:
        """Memory and open files; a server that died on its own is a violation."""
        while not self.stop.wait(SAMPLE_EVERY):
            process = self.server.process
            if self.server.up.is_set() and process is not None and process.poll() is not None:
                self.violations.report("server exited by itself", str(process.pid),
                                       f"pid {process.pid} exited with {process.returncode}")
                self.doubt_unseen_failures()
                self.restart()
            self.server.sample()

    def crash_loop(self) -> None:
        """kill -9 at random moments, about once per ``crash_every``, and restart; never
        during a fault or its recovery (a restart then would stop at its first pass)."""
        while not self.calm.wait(self.rng.uniform(0.3, 1.7) * self.plan.crash_every):
            with self.faults.exclusive:
                if self.calm.is_set():
                    return
                self.server.sample()
                self.doubt_unseen_failures()
                self.server.kill(signal.SIGKILL)
                self.crashes += 1
                self.note(f"kill -9 #{self.crashes} (pid {self.server.lifetimes[-1].pid})")
                self.restart()

    def doubt_unseen_failures(self) -> None:
        """Before a kill: a file broken so recently that no pass has recorded its failure
        (feeds/status.json lists each failing file after a pass that started later)
        dies with the process's memory of its last good articles."""
        try:
            status = json.loads((self.workspace / "feeds" / "status.json").read_bytes())
            seen = datetime.fromisoformat(status["last_pass"]["started"]).timestamp()
            failing = {error["path"] for error in status["errors"]}
        except (OSError, ValueError, KeyError, TypeError):
            seen, failing = 0.0, set()
        for path in self.truth.paths(ok=False):
            if path not in failing or self.truth.files[path].written > seen:
                self.truth.doubt(path)

    def restart(self) -> None:
        self.server.kill(signal.SIGKILL)
        began = time.time()
        if self.server.start():
            self.restarts += 1
            life = self.server.lifetimes[-1]
            self.comebacks.append((life.answering or time.time()) - began)
            self.catchups.append(time.time() - began)
            self.note(f"restarted: answering in {self.comebacks[-1]:.1f} s, first pass "
                      f"done in {self.catchups[-1]:.1f} s")
        elif not self.stop.is_set():
            self.violations.report("server did not come back", str(self.restarts),
                                   f"no /healthz within 300 s; see {self.server.log}")
            self.stop.set()

    def finish(self) -> None:
        """The final audit: churn and crashes stop, the server gets the settle time to
        catch up under load, then the readers stop and every tag feed and every article
        page is asked for once."""
        self.calm.set()
        self.steady_until = time.time()
        for thread in self.threads:
            if thread.name == "faults" and thread.is_alive():
                self.note("waiting for the fault in progress to heal")
                thread.join(timeout=self.plan.recovery + 60)
        if self.stop.is_set():
            return
        self.note("churn and crashes stop; settling for the final audit")
        if not self.server.up.wait(300):
            return
        self.stop.wait(self.plan.settle + 2)
        self.quiet.set()
        for thread in self.threads:
            if thread.name.startswith(("reader-", "sweep-", "history")):
                thread.join(timeout=40)
        urls = ["/subscriptions.opml", "/all.atom", "/all.rss", "/all.json"]
        self.fetch_all(urls[:1])
        urls += [f"/tags/{slug}.{fmt}" for slug in self.promises.slug_tags
                 for fmt in ("atom", "rss", "json")]
        ids = sorted(self.truth.held_ids())
        self.note(f"final audit: {len(urls):,} feeds, {len(ids):,} article pages")
        self.fetch_all(urls)
        feeds = self.history.audit(final=True)
        self.note(f"final audit: {feeds:,} feeds' histories walked; {self.history.requests:,} "
                  f"archive requests in the run, {len(self.promises.archives):,} archives; "
                  f"longest audit round {self.history.longest:.1f} s")
        self.fetch_all([f"/articles/{article_id}" for article_id in ids])

    def fetch_all(self, urls: list[str], clients: int = 8) -> None:
        """Ask for every URL once, on ``clients`` connections at a time."""
        def share(index: int) -> None:
            client = Client(self.server, gzip_ok=index % 2 == 1)
            try:
                for url in urls[index::clients]:
                    if self.stop.is_set():
                        return
                    self.readers.fetch(client, url)
            finally:
                client.close()
        workers = [threading.Thread(target=self.guarded(f"audit-{i}", lambda i=i: share(i)))
                   for i in range(clients)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def save_samples(self) -> None:
        """Every memory and fd sample, for a closer look (kept with --keep)."""
        with open(self.workspace / "resources.csv", "w") as out:
            out.write("lifetime,pid,seconds_up,rss_mib,fds\n")
            for n, life in enumerate(self.server.lifetimes, start=1):
                for when, rss, fds in life.samples:
                    up = when - (life.healthy or life.started)
                    out.write(f"{n},{life.pid},{up:.1f},{rss / MIB:.1f},{fds}\n")

    def scan_log(self) -> None:
        """Promise 5: the server logs no error (bad seed files are warnings), but for the
        failed passes of a fault, until the publisher healed."""
        try:
            with open(self.server.log, "rb") as stream:
                stream.seek(self.log_offset)
                chunk = stream.read()
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        self.log_offset += complete
        for line in chunk[:complete].decode("utf-8", "replace").splitlines():
            self.passes.add(line)
            self.faults.log.line(line)
            if "started afresh" in line:  # the state set aside: first sightings anew
                self.promises.forget_arrivals()
            if (" ERROR " in line or line.startswith("Traceback")) \
                    and not self.faults.log.expected(line):
                self.violations.report("server logged an error", line[24:120], line[:300])


def snapshot_code(workspace: Path) -> Path:
    """A copy of service/ for this run: the server restarted at minute nine runs the
    code started at minute zero, even if someone edits the tree meanwhile."""
    code = workspace / "code"
    shutil.copytree(ROOT / "service", code / "service",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return code
