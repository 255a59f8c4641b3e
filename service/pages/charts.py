"""Bar charts as geometry for inline SVG, drawn by the template (no script library: the CSP
forbids inline scripts, and a chart of a dozen bars does not need one).

A suppressed count (``"<5"``) is drawn as a bar of a fixed width marked as suppressed, so the
picture never tells more than the table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 640
LABEL_WIDTH = 220
VALUE_WIDTH = 50
ROW = 26
BAR = 18
SUPPRESSED_AS = 4  # drawn width of a "<5" bar, in counts


@dataclass(frozen=True)
class Bar:
    label: str
    text: str  # the value as published: a number or "<5"
    x: float
    y: float
    width: float
    suppressed: bool
    tone: str = "primary"


@dataclass(frozen=True)
class Chart:
    ident: str
    title: str
    bars: list[Bar]
    height: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH


def _number(count: Any) -> float:
    return float(SUPPRESSED_AS) if isinstance(count, str) else float(count)


def bar_chart(ident: str, title: str, rows: list[tuple[str, Any]]) -> Chart:
    """One horizontal bar per ``(label, count)``."""
    return stacked_chart(ident, title, [(label, [("primary", count)]) for label, count in rows])


def stacked_chart(ident: str, title: str, rows: list[tuple[str, list[tuple[str, Any]]]]) -> Chart:
    """Bars made of parts, e.g. on time then late; each part keeps its published text."""
    scale_max = max((sum(_number(c) for _, c in parts) for _, parts in rows), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, parts) in enumerate(rows):
        x = float(LABEL_WIDTH)
        for tone, count in parts:
            width = room * _number(count) / scale_max
            bars.append(
                Bar(label, str(count), x, index * ROW + 4, width, isinstance(count, str), tone)
            )
            x += width
    return Chart(ident, title, bars, height=max(1, len(rows)) * ROW + 8)
