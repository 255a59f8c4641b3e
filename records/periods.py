"""Report periods: whole calendar months in Europe/London, one or more (a quarter is three).

Why only whole months: with arbitrary dates, two reports whose windows differ by a day give away
that day's decisions by subtraction, however carefully each report suppresses its small
numbers. A report over several months is therefore built from its months
(``reports.sharing_report``): each month is suppressed on its own, and a figure of the longer
period is published only where it is the plain sum of figures its months publish. Anything a
longer report shows is then already in the month reports, and months do not overlap.

Accepted query arguments (anything else is refused, naming the field):

- ``period=2026-05`` (a month) or ``period=2026-Q2`` (April to June);
- ``from=2026-04&to=2026-06`` (months, both included), also written as their first and last days,
  ``from=2026-04-01&to=2026-06-30``; either end may be left out (from the first month with data;
  up to the current month).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
EARLIEST, LATEST = 2000, 2100  # years a report may name
MOST_MONTHS = 120  # the longest report: ten years of months
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
MONTH_HINT = "a month (YYYY-MM)"


class PeriodError(ValueError):
    """A period argument that is not a whole month or quarter; ``field`` names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


Month = tuple[int, int]  # (year, month)


def month_start(month: Month) -> datetime:
    """The first instant of a London month, in UTC (midnight GMT or BST)."""
    return datetime(month[0], month[1], 1, tzinfo=LONDON).astimezone(UTC)


def next_month(month: Month) -> Month:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def month_of(moment: datetime) -> Month:
    """The London month an instant falls in."""
    local = moment.astimezone(LONDON)
    return (local.year, local.month)


def label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


@dataclass(frozen=True)
class Period:
    """Consecutive London months; ``first``/``last`` ``None`` = from / up to the data's ends."""

    first: Month | None = None
    last: Month | None = None

    def months(self, earliest: Month | None, now: datetime) -> list[Month]:
        """The months the report covers, given the first month with data and the time now."""
        first = self.first or earliest
        last = self.last or max(month_of(now), first or month_of(now))
        if first is None:
            return []
        months = []
        while first <= last and len(months) < MOST_MONTHS:
            months.append(first)
            first = next_month(first)
        return months


def _year(value: str, field: str) -> int:
    year = int(value)
    if not EARLIEST <= year <= LATEST:
        raise PeriodError(field, f"the year must be from {EARLIEST} to {LATEST}")
    return year


def _month(value: str, field: str, *, end: bool) -> Month:
    """``YYYY-MM``, or the first (``from``) or last (``to``) day of a month."""
    day = None
    found = _MONTH.fullmatch(value)
    if found is None:
        found = _DAY.fullmatch(value)
        if found is None:
            raise PeriodError(field, f"must be {MONTH_HINT} or its {_which(end)} day")
        day = int(found.group(3))
    year, number = _year(found.group(1), field), int(found.group(2))
    if not 1 <= number <= 12:
        raise PeriodError(field, f"must be {MONTH_HINT}: there is no month {number}")
    if day is not None:
        first = date(year, number, 1)
        last = date(*next_month((year, number)), 1) - timedelta(days=1)
        if day != (last.day if end else 1):
            whole = f"{(last if end else first).isoformat()}"
            raise PeriodError(
                field, f"reports cover whole months: use {label((year, number))} or {whole}"
            )
    return (year, number)


def _which(end: bool) -> str:
    return "last" if end else "first"


def parse(args: Mapping[str, str]) -> Period:
    """The period the query arguments name; :class:`PeriodError` names the field at fault."""
    period = (args.get("period") or "").strip()
    start, end = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    if period:
        if start or end:
            raise PeriodError("period", "give either period or from/to, not both")
        if found := _QUARTER.fullmatch(period):
            year, quarter = _year(found.group(1), "period"), int(found.group(2))
            return Period((year, 3 * quarter - 2), (year, 3 * quarter))
        if _MONTH.fullmatch(period):
            month = _month(period, "period", end=False)
            return Period(month, month)
        raise PeriodError("period", "must be a month (YYYY-MM) or a quarter (YYYY-Q1 to YYYY-Q4)")
    first = _month(start, "from", end=False) if start else None
    last = _month(end, "to", end=True) if end else None
    if first and last:
        if last < first:
            raise PeriodError("to", "must not be before 'from'")
        if (last[0] - first[0]) * 12 + last[1] - first[1] >= MOST_MONTHS:
            raise PeriodError("to", f"a report covers at most {MOST_MONTHS} months")
    return Period(first, last)
