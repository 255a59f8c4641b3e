"""Bar charts as geometry for inline SVG, drawn by the template (no script library: the CSP
forbids inline scripts, and a chart of a dozen bars does not need one).

A suppressed count (``"<5"``) is drawn as a bar of a fixed width marked as suppressed, and a
withheld one (``"[c]"``, some number of 5 or more) as no bar at all, only its mark: the picture
never tells more than the table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 720
LABEL_WIDTH = 300
# The longest label drawn in full: right-aligned at LABEL_WIDTH, 12 px text, at most about 7 px
# a character, so a longer one is cut (its whole text is in the bar's title and the table)
# instead of running off the left edge.
LABEL_CHARS = 40
VALUE_ROOM = 120
ROW = 26
SUPPRESSED_AS = 4  # drawn width of a "<5" bar, in counts
TONE_WORDS = {"primary": "", "ok": "on time", "late": "late", "overdue": "open overdue"}


@dataclass(frozen=True)
class Part:
    x: float
    width: float
    text: str  # the value as published: a number, "<5" or "[c]"
    tone: str
    suppressed: bool


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    parts: list[Part]
    end_x: float
    summary: str  # what is written after the bar, e.g. "6 on time, <5 late"


@dataclass(frozen=True)
class Chart:
    ident: str
    title: str
    rows: list[Row]
    height: int
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    label_chars: int = LABEL_CHARS


def _number(count: Any) -> float:
    if isinstance(count, str):
        return float(SUPPRESSED_AS) if count == "<5" else 0.0
    return float(count)


def bar_chart(ident: str, title: str, rows: list[tuple[str, Any]]) -> Chart:
    """One horizontal bar per ``(label, count)``."""
    return stacked_chart(ident, title, [(label, [("primary", count)]) for label, count in rows])


def stacked_chart(ident: str, title: str, rows: list[tuple[str, list[tuple[str, Any]]]]) -> Chart:
    """Bars made of parts, e.g. on time then late; each part keeps its published text."""
    scale_max = max((sum(_number(c) for _, c in parts) for _, parts in rows), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    drawn = []
    for index, (label, counts) in enumerate(rows):
        x, parts = float(LABEL_WIDTH), []
        for tone, count in counts:
            width = room * _number(count) / scale_max
            parts.append(Part(x, width, str(count), tone, isinstance(count, str)))
            x += width
        summary = ", ".join(f"{p.text} {TONE_WORDS[p.tone]}".strip() for p in parts)
        drawn.append(Row(label, index * ROW + 4, parts, x, summary))
    return Chart(ident, title, drawn, height=max(1, len(rows)) * ROW + 8)
