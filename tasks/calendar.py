"""Working time in England: weekdays less the bank holidays of England and Wales.

Due times in the protocol are in working days ("due at the close of the n-th working day") and
working hours (a MASH "red" rating: respond within 4 working hours). The working day is
09:00–17:00 Europe/London by default; all arithmetic is done on the local wall clock, so the
clock changes in March and October never move a deadline off 17:00.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

# Ten years of working time: counted a day at a time, so a script asking for a billion working
# days would hold a worker for hours (and overflow the calendar) instead of failing at once.
MAX_WORKING_DAYS = 2_600


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: str = "Europe/London"
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    country: str = "GB"
    subdivision: str = "ENG"
    extra_closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ValueError("the working day must open before it closes")

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays and day not in self.extra_closed_days

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone)

    def _local(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("a timezone-aware datetime is required")
        return when.astimezone(self.zone)

    def close_of_day(self, start: datetime) -> datetime:
        """The close of the working day ``start`` falls in; after hours, of the next one."""
        local = self._local(start)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.closes:
            return self._at(day, self.closes)
        return self._at(self.next_working_day(day), self.closes)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The close of the ``days``-th working day after the day of ``start`` (0: same day).

        Out of hours (evenings, weekends, bank holidays) ``same-day`` means the next working day,
        which is also when a 1-working-day task falls due: the holder gets one full working day.
        """
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"days must be from 0 to {MAX_WORKING_DAYS}")
        if days == 0:
            return self.close_of_day(start)
        day = self._local(start).date()
        for _ in range(days):
            day = self.next_working_day(day)
        return self._at(day, self.closes)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of working time, counted only inside working days."""
        if not 0 <= hours <= MAX_WORKING_DAYS * 24:
            raise ValueError(f"hours must be from 0 to {MAX_WORKING_DAYS * 24}")
        local = self._local(start)
        day = local.date()
        if not self.is_working_day(day) or local.time() >= self.closes:
            day, moment = self.next_working_day(day), self.opens
        else:
            moment = max(local.time(), self.opens)
        remaining = timedelta(hours=hours)
        while True:
            begin = datetime.combine(day, moment)
            left_today = datetime.combine(day, self.closes) - begin
            if remaining <= left_today:
                return (begin + remaining).replace(tzinfo=self.zone)
            remaining -= left_today
            day, moment = self.next_working_day(day), self.opens

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time inside ``[start, end)`` (zero when ``end`` is not after ``start``).

        How late a task is, in the only time that counts for a deadline: a task due on Friday
        at 17:00 is one working hour late at 10:00 on Monday, not 65 hours.
        """
        if end <= start:
            return timedelta(0)
        first, last = self._local(start), self._local(end)
        total, day = timedelta(0), first.date()
        while day <= last.date():
            if self.is_working_day(day):
                opens, closes = self._at(day, self.opens), self._at(day, self.closes)
                begin, finish = max(opens, first), min(closes, last)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total

    @property
    def hours_per_day(self) -> timedelta:
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)


DEFAULT_CALENDAR = WorkingCalendar()


def add_working_days(start: datetime, days: int) -> datetime:
    return DEFAULT_CALENDAR.add_working_days(start, days)


def add_working_hours(start: datetime, hours: float) -> datetime:
    return DEFAULT_CALENDAR.add_working_hours(start, hours)


def close_of_day(start: datetime) -> datetime:
    return DEFAULT_CALENDAR.close_of_day(start)


def script_helpers(calendar: WorkingCalendar = DEFAULT_CALENDAR) -> dict:
    """The working-time functions diagrams may call in scripts and timer expressions."""
    return {
        "add_working_days": calendar.add_working_days,
        "add_working_hours": calendar.add_working_hours,
        "close_of_day": calendar.close_of_day,
        "is_working_day": calendar.is_working_day,
    }
