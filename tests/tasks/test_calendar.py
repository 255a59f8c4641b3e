"""Working-day due dates: weekends, England's bank holidays, the close of day, the clock change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.calendar import (
    WorkingCalendar,
    add_working_days,
    add_working_hours,
    close_of_day,
)

LONDON = ZoneInfo("Europe/London")
BANK_HOLIDAYS = holidays.country_holidays("GB", subdiv="ENG", years=range(2020, 2041))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(at(2026, 11, 23, 10), 1, at(2026, 11, 24, 17), id="monday-1WD"),
        pytest.param(at(2026, 11, 27, 16), 1, at(2026, 11, 30, 17), id="friday-over-weekend"),
        pytest.param(at(2026, 11, 28, 12), 1, at(2026, 11, 30, 17), id="saturday-1WD-monday"),
        pytest.param(at(2026, 11, 23, 18), 1, at(2026, 11, 24, 17), id="after-hours-still-next"),
        pytest.param(at(2026, 12, 24, 10), 1, at(2026, 12, 29, 17), id="christmas-eve-2026"),
        pytest.param(at(2026, 12, 23, 10), 5, at(2027, 1, 4, 17), id="over-christmas-new-year"),
        pytest.param(at(2026, 4, 2, 9), 1, at(2026, 4, 7, 17), id="easter-2026"),
        pytest.param(at(2027, 3, 25, 9), 2, at(2027, 3, 31, 17), id="easter-2027"),
        pytest.param(at(2026, 3, 27, 12), 1, at(2026, 3, 30, 17), id="spring-clock-change"),
        pytest.param(at(2026, 10, 23, 12), 1, at(2026, 10, 26, 17), id="autumn-clock-change"),
        pytest.param(at(2026, 11, 23, 10), 0, at(2026, 11, 23, 17), id="same-day"),
    ],
)
def test_add_working_days(start, days, due):
    result = add_working_days(start, days)
    assert result == due
    assert result.astimezone(LONDON).hour == 17  # 17:00 on the wall clock, GMT or BST


def test_close_of_day_after_hours_and_on_holidays():
    assert close_of_day(at(2026, 11, 23, 8)) == at(2026, 11, 23, 17)
    assert close_of_day(at(2026, 11, 23, 17, 30)) == at(2026, 11, 24, 17)
    assert close_of_day(at(2026, 12, 25, 11)) == at(2026, 12, 29, 17)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        pytest.param(at(2026, 11, 23, 10), 4, at(2026, 11, 23, 14), id="within-the-day"),
        pytest.param(at(2026, 11, 23, 15), 4, at(2026, 11, 24, 11), id="overnight"),
        pytest.param(at(2026, 11, 27, 15), 4, at(2026, 11, 30, 11), id="over-weekend"),
        pytest.param(at(2026, 11, 23, 7), 1, at(2026, 11, 23, 10), id="before-opening"),
        pytest.param(at(2026, 3, 27, 15), 4, at(2026, 3, 30, 11), id="over-spring-change"),
        pytest.param(at(2026, 12, 24, 16), 24, at(2026, 12, 31, 16), id="three-days-at-christmas"),
    ],
)
def test_add_working_hours(start, hours, due):
    assert add_working_hours(start, hours) == due


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        add_working_days(datetime(2026, 11, 23, 10), 1)


def test_a_custom_working_day():
    late = WorkingCalendar(closes=datetime.strptime("18:30", "%H:%M").time())
    assert late.add_working_days(at(2026, 11, 23, 10), 1) == at(2026, 11, 24, 18, 30)


moments = st.datetimes(
    min_value=datetime(2021, 1, 1), max_value=datetime(2039, 12, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(start=moments, days=st.integers(min_value=0, max_value=60))
def test_due_never_lands_on_a_weekend_or_bank_holiday(start, days):
    due = add_working_days(start, days).astimezone(LONDON)
    assert due.weekday() < 5
    assert due.date() not in BANK_HOLIDAYS
    assert (due.hour, due.minute) == (17, 0)
    assert due > start


@settings(max_examples=300, deadline=None)
@given(start=moments, days=st.integers(min_value=0, max_value=30), later=st.integers(0, 72 * 60))
def test_add_working_days_is_monotonic(start, days, later):
    # Out of hours, "same day" already means the next working day, so 0 and 1 may coincide.
    if days >= 1:
        assert add_working_days(start, days + 1) > add_working_days(start, days)
    assert add_working_days(start, days + 1) >= add_working_days(start, days)
    assert add_working_days(start + timedelta(minutes=later), days) >= add_working_days(start, days)


@settings(max_examples=300, deadline=None)
@given(start=moments, hours=st.integers(min_value=0, max_value=80))
def test_working_hours_stay_inside_working_days(start, hours):
    due = add_working_hours(start, hours).astimezone(LONDON)
    assert due.weekday() < 5 and due.date() not in BANK_HOLIDAYS
    assert 9 <= due.hour + due.minute / 60 <= 17
    assert add_working_hours(start, hours + 1) > due
