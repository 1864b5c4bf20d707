#!/usr/bin/env python3
"""Proof under fire: `seedfeeds serve` for ten minutes under load, file churn, kill -9
and faults, checked all along against the promises the README makes.

    python bench/soak [--minutes 10] [--clients 32] [--faults 2] [--seed N] [--keep]

The server runs on 127.0.0.1 (a free port) over a generated 10,000-article corpus in
a temp folder, while, at once:

- churn adds, edits (bodies and headlines), renames, moves into subfolders and
  deletes seed files: some 20 at once, some written slowly through one open file,
  some binary or badly encoded;
- 32 clients poll every kind of URL with conditional GETs, as feed readers do;
- about once a minute the server is killed with SIGKILL and started again;
- at a third and at two thirds of the run, a fault for 8-15 s: the feeds folder
  read-only for everyone, root included (a read-only bind mount over it: needs root,
  else skipped and reported so), then the state locked by another process (this
  one, holding `BEGIN EXCLUSIVE` on the SQLite file). No kill -9 during a fault.

The promises checked, each violation printed as it happens with its evidence:

1. Every answer is a 304 or a valid document (feedparser finds no fault in Atom or
   RSS, JSON Feed 1.1 parses, OPML parses, pages are whole HTML); never a 5xx.
2. An article in seeds/ for longer than the reconcile period plus a margin (one
   pass on a busy machine) is published: its page is served, and it is in the history
   of every feed it belongs to (RFC 5005, as a consumer sees it): the subscription
   document or an archive reached down its prev-archive links (``history``). Every
   document holds no id twice, a subscription document at most --entries, an archive
   at most --archive-size; the links and fh elements are where RFC 5005 puts them; an
   archive never gains an entry; and the order is newest arrival first as far as the
   truth can bound arrivals (``promises``).
3. An article's id and its `published` never change.
4. No feed shows an article all of whose files have been gone (deleted, or their
   text replaced) for longer than that, in its subscription document or an archive;
   none before its release time; none that only a half-written file held.
5. The server's memory and open files stay flat over each of its lifetimes, and
   it logs no error (but for its failed passes during a fault).
6. A fault loses nothing: while it lasts, and until the first publish pass that
   succeeds after it, promises 1, 3 and 4 hold and the site stays as published (the
   deadlines of 2 and 4 wait, as they do for a restart's first pass); once it clears,
   a pass succeeds, status.json's "failing" is null again, and every article that
   came or went during the fault is served so, all within --recovery seconds.

What the server should publish is worked out here, independently of the server,
from the bytes this script wrote: the server's own reader (``parse_seed``) gives
each version's article ids, uuid5 of headline and release time, and the script
keeps the times each article came and went. Exit status 1 if a promise broke.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[2]
sys.path[0:0] = [str(ROOT / "bench"), str(ROOT / "tests")]  # soak and corpus; support

from soak.plan import Plan  # noqa: E402
from soak.report import flatness, summary  # noqa: E402
from soak.run import Soak  # noqa: E402


def parse_plan(argv: list[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    add = parser.add_argument
    add("--minutes", type=float, default=10.0, help="length of the run (default 10)")
    add("--articles", type=int, default=10_000, help="corpus articles (default 10,000)")
    add("--files", type=int, default=100, help="corpus files (default 100)")
    add("--tags", type=int, default=200, help="corpus tag vocabulary (default 200)")
    add("--reconcile", type=float, default=10.0,
        help="the server's reconcile period in s (default 10)")
    add("--margin", type=float, default=10.0,
        help="s allowed beyond the reconcile period for one publish pass (default 10: a "
             "pass that unpublishes a 100-article file rewrites ~350 files, up to 9 s on "
             "2 busy cores)")
    add("--entries", type=int, default=50,
        help="entries in each feed's subscription document (default 50)")
    add("--archive-size", type=int, default=25,
        help="entries in each archive document (default 25)")
    add("--clients", type=int, default=32, help="concurrent polling clients (default 32)")
    add("--crash-every", type=float, default=60.0,
        help="mean s between kill -9s of the server; 0: never (default 60)")
    add("--faults", type=int, default=2,
        help="faults spread over the run, read-only feeds/ and locked state taking turns "
             "(default 2: one of each)")
    add("--no-faults", dest="faults", action="store_const", const=0,
        help="no faults (the same as --faults 0)")
    add("--recovery", type=float, default=90.0,
        help="s after a fault clears by which a pass must succeed and every change made "
             "during it be served (default 90)")
    add("--seed", type=int, default=None, help="random seed (default: from the clock)")
    add("--keep", action="store_true", help="keep the temp folder (seeds, feeds, log)")
    add("--tmp", default=None, help="parent folder of the temp folder (default: the system's)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    return Plan(args.minutes, args.articles, args.files, args.tags, args.reconcile,
                args.margin, args.entries, args.clients, args.crash_every, seed, args.keep,
                args.tmp, max(args.faults, 0), args.recovery, args.archive_size)


class HardTimeout(BaseException):
    """The run overstayed its planned time by far: stop, clean up, fail."""


def stop_on_signals() -> None:
    def alarm(_number: int, _frame: FrameType | None) -> None:
        raise HardTimeout

    def terminate(number: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + number)

    signal.signal(signal.SIGALRM, alarm)
    signal.signal(signal.SIGTERM, terminate)


@contextlib.contextmanager
def workspace(plan: Plan) -> Iterator[Path]:
    """A temp folder for seeds, feeds, state, log and code; removed unless --keep."""
    root = Path(tempfile.mkdtemp(prefix="seedfeeds-soak-", dir=plan.tmp))
    try:
        yield root
    finally:
        if plan.keep:
            print(f"kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    plan = parse_plan(argv)
    stop_on_signals()
    signal.alarm(int(plan.minutes * 60) + 900)  # setup, final audit, and a wide margin
    with workspace(plan) as root:
        soak = Soak(plan, root)
        try:
            outcome = soak.run()
        except (KeyboardInterrupt, HardTimeout) as exc:
            print(f"\nstopped early: {type(exc).__name__}", flush=True)
            return 1
        finally:
            soak.stop.set()
            soak.calm.set()
            faults = getattr(soak, "faults", None)
            if faults is not None:
                faults.clear()  # before the workspace goes: nothing stays mounted
            server = getattr(soak, "server", None)
            if server is not None:
                server.kill(signal.SIGKILL)
            signal.alarm(0)
        flatness(outcome)
        print(f"\n{summary(outcome)}\n", flush=True)
        if outcome.violations:
            print(f"{len(outcome.violations)} violations; server log: "
                  f"{'kept in ' + str(root) if plan.keep else 'rerun with --keep'}")
        return 1 if outcome.violations else 0


if __name__ == "__main__":
    sys.exit(main())
