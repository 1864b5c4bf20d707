"""The status page's charts, as plain numbers: recent publish passes (bars of duration,
a line of files changed, one slot per pass) and the hub's last hour (bars of pushes
delivered, a line of failed attempts, one slot per minute).

Pure geometry, so the template draws an SVG with no script and no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    """One slot of a chart: its bar (left axis) and its dot on the line (right axis)."""

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
    line: str  # polyline points of the right axis's values
    max_seconds: float  # the left axis's top (seconds, or pushes for the hub's chart)
    max_files: int  # the right axis's top


_CHART_SIZE, _CHART_MARGINS = (720, 220), (56, 16, 56, 24)  # width, height; left top right bottom
CHART_SLOTS = 50  # passes the publisher keeps in status.json: the chart fills up over time


HUB_SLOTS = 60  # minutes the hub keeps in websub.json


def status_chart(history: Sequence[dict[str, Any]]) -> Chart:
    """Bars of duration (left axis) and a line of files changed (right axis), one slot per
    pass, the newest at the right edge."""
    seconds = [_number(row.get("seconds")) for row in history]
    files = [int(_number(row.get("files_written"))) for row in history]
    labels = [f"{row.get('started', '?')}: {seconds[index]:g} s, {files[index]} files changed"
              for index, row in enumerate(history)]
    return _chart(seconds, files, labels, CHART_SLOTS)


def hub_chart(minutes: Sequence[dict[str, Any]]) -> Chart:
    """Bars of pushes delivered (left axis) and a line of failed attempts (right axis),
    one slot per minute, the newest at the right edge."""
    delivered = [_number(row.get("delivered")) for row in minutes]
    failed = [int(_number(row.get("failed"))) for row in minutes]
    labels = [f"{row.get('at', '?')}: {delivered[index]:g} delivered, {failed[index]} failed"
              for index, row in enumerate(minutes)]
    return _chart(delivered, failed, labels, HUB_SLOTS)


def _chart(heights: list[float], dots: list[int], labels: list[str], slots: int) -> Chart:
    (width, height), (left, top, right, bottom) = _CHART_SIZE, _CHART_MARGINS
    plot_w, plot_h = width - left - right, height - top - bottom
    max_bar, max_dot = _nice(max(heights, default=0)), int(_nice(max(dots, default=0)))
    slot = plot_w / max(len(heights), slots)
    first = left + plot_w - slot * len(heights)
    bars = []
    for index, label in enumerate(labels):
        bar_h = plot_h * heights[index] / max_bar
        x = first + index * slot
        bars.append(Bar(
            x=round(x + slot * 0.15, 2), y=round(top + plot_h - bar_h, 2),
            width=round(slot * 0.7, 2), height=round(bar_h, 2),
            dot_x=round(x + slot / 2, 2),
            dot_y=round(top + plot_h - plot_h * dots[index] / max_dot, 2), label=label))
    line = " ".join(f"{bar.dot_x},{bar.dot_y}" for bar in bars)
    return Chart(width, height, left, top, width - right, top + plot_h, tuple(bars), line,
                 max_bar, max_dot)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and value >= 0 else 0.0


def _nice(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value)
