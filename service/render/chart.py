"""The status page's chart of recent publish passes, as plain numbers.

Pure geometry: bars of duration and a line of files changed, one slot per pass, so
the template draws an SVG with no script and no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    """One publish pass in the status chart: its duration bar and files-changed dot."""

    x: float
    y: float
    width: float
    height: float
    dot_x: float
    dot_y: float
    label: str


@dataclass(frozen=True)
class Chart:
    """The status page's SVG chart as plain numbers: the template only draws them."""

    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    bars: tuple[Bar, ...]
    line: str  # polyline points of files changed
    max_seconds: float
    max_files: int


_CHART_SIZE, _CHART_MARGINS = (720, 220), (56, 16, 56, 24)  # width, height; left top right bottom
CHART_SLOTS = 50  # passes the publisher keeps in status.json: the chart fills up over time


def status_chart(history: Sequence[dict[str, Any]]) -> Chart:
    """Bars of duration (left axis) and a line of files changed (right axis), one slot per
    pass, the newest at the right edge."""
    (width, height), (left, top, right, bottom) = _CHART_SIZE, _CHART_MARGINS
    plot_w, plot_h = width - left - right, height - top - bottom
    seconds = [_number(row.get("seconds")) for row in history]
    files = [int(_number(row.get("files_written"))) for row in history]
    max_seconds, max_files = _nice(max(seconds, default=0)), int(_nice(max(files, default=0)))
    slot = plot_w / max(len(history), CHART_SLOTS)
    first = left + plot_w - slot * len(history)
    bars = []
    for index, row in enumerate(history):
        bar_h = plot_h * seconds[index] / max_seconds
        x = first + index * slot
        bars.append(Bar(
            x=round(x + slot * 0.15, 2), y=round(top + plot_h - bar_h, 2),
            width=round(slot * 0.7, 2), height=round(bar_h, 2),
            dot_x=round(x + slot / 2, 2),
            dot_y=round(top + plot_h - plot_h * files[index] / max_files, 2),
            label=f"{row.get('started', '?')}: {seconds[index]:g} s, "
                  f"{files[index]} files changed"))
    line = " ".join(f"{bar.dot_x},{bar.dot_y}" for bar in bars)
    return Chart(width, height, left, top, width - right, top + plot_h, tuple(bars), line,
                 max_seconds, max_files)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and value >= 0 else 0.0


def _nice(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value)
