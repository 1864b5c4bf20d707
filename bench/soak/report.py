"""The summary: the run as a markdown table, and promise 5 judged on the samples."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from .faults import Fault
from .plan import Plan
from .readers import Stats
from .server import WARM_UP, Lifetime, Passes
from .violations import Violations

MIB = 1024 * 1024


@dataclass
class Outcome:
    """Everything the summary reports."""

    plan: Plan
    seconds: float
    stats: Stats
    churn: Counter[str]
    slow_pause: float  # the longest pause inside a slow write
    crashes: int
    restarts: int
    lifetimes: list[Lifetime]
    violations: Violations
    articles: int
    sweeps: int
    pages_checked: int
    steady_until: float  # churn and crashes stopped: the final audit began
    passes: Passes
    comebacks: list[float]  # seconds from each kill to /healthz again
    catchups: list[float]  # seconds from each kill to the end of the first pass
    faults: list[Fault] = field(default_factory=list)
    archives: tuple[int, int] = (0, 0)  # archive documents seen, requests for them


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(outcome: Outcome) -> str:
    """The run as a markdown table, to paste into the README."""
    stats, plan = outcome.stats, outcome.plan
    requests = stats.requests
    not_modified = stats.statuses.get(304, 0)
    churned = ", ".join(f"{n:,} {kind}" for kind, n in outcome.churn.most_common())
    warm = [s for life in outcome.lifetimes for s in life.warm()]
    peak_rss = max((s[1] for s in warm), default=0)
    steady = [s for life in outcome.lifetimes for s in life.warm(outcome.steady_until)]
    peak_steady = max((s[1] for s in steady), default=0)
    violations = outcome.violations.by_kind()
    rows = [
        ("duration", f"{outcome.seconds / 60:.1f} min ({plan.minutes:g} min soak + final "
                     "audit), 2 cores shared"),
        ("corpus", f"{plan.articles:,} articles in {plan.files} files, {plan.tags} tags; "
                   f"{outcome.articles:,} articles at the end"),
        ("server settings", f"reconcile {plan.reconcile:g} s, {plan.entries} entries per "
                            f"feed, archives of {plan.archive_size}; promises checked "
                            f"{plan.settle:g} s after a change"),
        ("requests answered", f"{requests:,} ({requests / outcome.seconds:,.0f}/s) by "
                              f"{plan.clients} clients + 2 article sweepers"),
        ("304 Not Modified", f"{not_modified / max(requests, 1):.0%}"),
        ("latency p50 / p99", f"{percentile(stats.latencies, 0.5) * 1000:.1f} ms / "
                              f"{percentile(stats.latencies, 0.99) * 1000:.1f} ms"),
        ("statuses", ", ".join(f"{n:,} × {code}" for code, n in sorted(stats.statuses.items()))),
        ("refused while down / failed while up", f"{stats.refused:,} / {stats.errors:,}"),
        ("files churned", f"{sum(outcome.churn.values()):,}: {churned}"),
        ("longest pause inside a slow write", f"{outcome.slow_pause:.2f} s (the server may "
                                              "read a file after 1 s of quiet)"),
        ("kill -9 survived / restarts", f"{outcome.crashes} / {outcome.restarts}" + (
            f"; answering again {min(outcome.comebacks):.1f}–{max(outcome.comebacks):.1f} s "
            f"after the kill, first pass done after {min(outcome.catchups):.1f}–"
            f"{max(outcome.catchups):.1f} s" if outcome.comebacks else "")),
        ("faults", fault_summary(outcome.faults, plan.recovery)),
        ("publish passes", f"{outcome.passes.count:,}; longest {outcome.passes.longest:.1f} s "
                           f"(builds at start: up to {outcome.passes.longest_cold:.1f} s)"),
        ("server memory (RSS)", f"peak {peak_steady / MIB:.0f} MiB under churn and load, "
                                f"{peak_rss / MIB:.0f} MiB in the final audit; per lifetime "
                                "below"),
        ("article pages checked", f"{outcome.pages_checked:,} distinct articles "
                                  f"({outcome.sweeps} full sweeps during the soak; every held "
                                  "article once in the final audit)"),
        ("feed histories (RFC 5005)", f"{outcome.archives[0]:,} archive documents, asked "
                                      f"for {outcome.archives[1]:,} times (conditional GETs "
                                      "once seen); every chain walked in the final audit"),
        ("violations", "0" if not violations else ", ".join(
            f"{n} {kind}" for kind, n in violations.most_common())),
    ]
    lines = ["| soak | result |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    lines += ["", "| server lifetime | up | RSS after warm-up → half-way → end (peak) "
                  "| open fds start → end (peak) |",
              "|---|---|---|---|"]
    for n, life in enumerate(outcome.lifetimes, start=1):
        if life.healthy is not None and life.healthy < outcome.steady_until:
            lines.append(lifetime_row(n, life, outcome.steady_until))
    if outcome.faults:
        lines += ["", "| fault | at | lasted | passes failed | status.json during it "
                      "| cleared → first good pass | cleared → every change served "
                      "| server RSS before → after |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [fault_row(fault, outcome.lifetimes) for fault in outcome.faults]
    return "\n".join(lines)


def fault_summary(faults: list[Fault], bound: float) -> str:
    """The faults in one cell: what happened, and the recovery times."""
    if not faults:
        return "none (--no-faults)"
    done = [f for f in faults if f.cleared is not None]
    parts = [f"{len(done)} of {len(faults)}"]
    parts += [f"{f.kind} {f.lasted():.0f} s ({f.failed} passes failed)" for f in done]
    parts += [f"{f.kind} skipped: {f.skipped}" for f in faults if f.skipped]
    healed = [f.healed - f.cleared for f in done if f.healed and f.cleared]
    served = [f.visible - f.cleared for f in done if f.visible and f.cleared]
    text = "; ".join(parts)
    if healed:
        text += f"; healed {min(healed):.1f}–{max(healed):.1f} s after clearing"
    if served:
        text += f", every change served after {min(served):.1f}–{max(served):.1f} s"
    if len(served) < len(done):
        text += f", {len(done) - len(served)} never served every change"
    return text + f" (bound {bound:g} s)"


def fault_row(fault: Fault, lifetimes: list[Lifetime]) -> str:
    """One fault of the schedule: how long, what the publisher made of it, how soon it
    healed."""
    if fault.cleared is None:
        reason = f"skipped: {fault.skipped}" if fault.skipped else "not reached"
        return f"| {fault.kind} | {fault.at:.0f} s | {reason} | | | | | |"
    attempts = f" (the server counted {fault.attempts})" if fault.attempts else ""
    status = fault.failing or "no failure recorded (not writable, or no pass failed)"

    def after(when: float | None) -> str:
        return f"{when - fault.cleared:.1f} s" if when and fault.cleared else "never"

    return (f"| {fault.kind} | {fault.at:.0f} s | {fault.lasted():.1f} s | {fault.failed}"
            f"{attempts} | {status} | {after(fault.healed)} | {after(fault.visible)} "
            f"({fault.changes:,} articles came or went) | {rss_step(fault, lifetimes)} |")


def lifetime_row(n: int, life: Lifetime, until: float) -> str:
    """One server process under churn and load (the final audit left out)."""
    warm = life.warm(until)
    up = (min(life.ended or time.time(), until) - life.healthy) if life.healthy else 0.0
    if not warm:
        return f"| {n} | {max(up, 0):.0f} s | (too short: no sample after the warm-up) | |"
    rss, fds = [s[1] / MIB for s in warm], [s[2] for s in warm]
    return (f"| {n} | {up:.0f} s | {rss[0]:.0f} → {rss[len(rss) // 2]:.0f} → {rss[-1]:.0f} "
            f"({max(rss):.0f}) MiB | {fds[0]} → {fds[-1]} ({max(fds)}) |")


def flatness(outcome: Outcome) -> None:
    """Promise 5, per lifetime under churn and load, after its warm-up: open files do
    not climb, and memory levels off. Caches fill in the first half (the web's answer
    cache alone may take 64 MiB), so the second half may add at most 5% + 8 MiB; a
    leak of a kilobyte a request would add ten times that in half a minute.

    A fault cuts a lifetime in two, judged apart: the pass that heals it rebuilds
    everything, as a start does, and gets the same warm-up (the fault rows show the
    step)."""
    for n, life in enumerate(outcome.lifetimes, start=1):
        for part, steady in enumerate(between_faults(life.warm(outcome.steady_until),
                                                     outcome.faults), start=1):
            if len(steady) < 10:
                continue
            name = f"{n}" if part == 1 else f"{n}, after fault {part - 1}"
            (_, rss0, fds0), (_, rss1, fds1) = steady[0], steady[-1]
            rss_mid = steady[len(steady) // 2][1]
            if rss1 > rss_mid * 1.05 + 8 * MIB:
                outcome.violations.report("memory grew", name, f"lifetime {name}: RSS "
                                          f"{rss0 / MIB:.0f} → {rss_mid / MIB:.0f} (half-way) "
                                          f"→ {rss1 / MIB:.0f} MiB")
            if fds1 > fds0 + 8:
                outcome.violations.report("open files grew", name,
                                          f"lifetime {name}: fds {fds0} → {fds1}")


Sample = tuple[float, int, int]


def between_faults(samples: list[Sample], faults: list[Fault]) -> list[list[Sample]]:
    """``samples`` cut at every fault: from its start until a warm-up after it healed."""
    gaps = [(f.began, (f.healed or f.cleared or f.began) + WARM_UP)
            for f in faults if f.began is not None]
    parts: list[list[Sample]] = [[]]
    for sample in samples:
        if any(began <= sample[0] < end for began, end in gaps):
            if parts[-1]:
                parts.append([])
            continue
        parts[-1].append(sample)
    return parts


def rss_step(fault: Fault, lifetimes: list[Lifetime]) -> str:
    """The server's memory just before a fault, and its peak in the minute it healed."""
    samples = [s for life in lifetimes for s in life.samples]
    before = [s[1] for s in samples if s[0] < (fault.began or 0)]
    healed = fault.healed or fault.cleared or 0
    after = [s[1] for s in samples if healed <= s[0] < healed + 60]
    if not before or not after:
        return "?"
    return f"{before[-1] / MIB:.0f} → {max(after) / MIB:.0f} MiB"
