"""The Board's report as a CSV file that opens cleanly in a spreadsheet.

- UTF-8 with a byte-order mark: Excel otherwise reads UTF-8 as the local code page and mangles
  any non-ASCII agency or basis; LibreOffice and Python's ``utf-8-sig`` ignore the mark.
- CRLF line ends and minimal quoting (RFC 4180), one long table ``section,item,measure,value``
  so that every part of the report has the same columns and parses with any CSV reader.
- Formula injection: a cell that begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  gets a leading apostrophe, so a spreadsheet shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

BOM = "\ufeff"
HEADER = ("section", "item", "measure", "value")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One cell's text, defused if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The report as ``(section, item, measure, value)`` rows."""
    months = report["months"]
    yield ("period", "first month", "", months[0] if months else "")
    yield ("period", "last month (inclusive)", "", months[-1] if months else "")
    yield ("period", "months", "", " ".join(months))
    yield ("period", "starts at", "", report["from"] or "")
    yield ("period", "ends before", "", report["to"] or "")
    yield ("period", "generated at", "", report["generated_at"])
    yield ("note", "small numbers", "", report["small_numbers"])
    decisions = report["decisions"]
    yield ("decisions", "total", "count", decisions["total"])
    for part in ("by_outcome", "by_consent", "by_lawful_basis", "by_agency", "by_month"):
        for row in decisions[part]:
            yield (f"decisions {part.replace('_', ' ')}", row["label"], "count", row["count"])
    timing = report["time_to_decision"]
    for measure in ("decisions", "median", "p90"):
        value = timing[measure]
        yield ("time to decision (working days)", measure, "", "" if value is None else value)
    for row in report["tasks"]:
        step = f"{row['process']} / {row['name']}"
        yield ("tasks", step, "on time", row["on_time"])
        yield ("tasks", step, "late", row["late"])
        yield ("tasks", step, "open and overdue now", row["open_late"])
    for row in report["open_escalations"]:
        yield ("open escalations", row["stage"], "count", row["count"])


def to_csv(report: dict[str, Any]) -> str:
    """The CSV text, BOM first, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    for row in rows(report):
        writer.writerow([cell(value) for value in row])
    return BOM + out.getvalue()
