"""Timers and due times a diagram may say without holding the service, checked at deploy.

Each case is a reminder timer on the ``review`` task of ``three_steps.bpmn`` (or a due time on
it); the problem names the boundary event (or the task) and the line it starts on. Dates are
measured from the deploy time given to the validator, never from the machine's clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.workflows.test_validation import END_DONE, FIXTURE, QUICK, line_of, mutate
from workflows.errors import InvalidDefinition, Problem
from workflows.rules import DeployRules, TimerBounds
from workflows.validation import validate

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
REVIEW_DUE = 'camunda:candidateGroups="manager" camunda:dueDate="2WD"'


def timer(kind: str, expression: str) -> str:
    """``three_steps`` with a non-interrupting ``kind`` timer on ``review``."""
    boundary = (
        '    <bpmn:boundaryEvent id="reminder" attachedToRef="review" cancelActivity="false">\n'
        '      <bpmn:timerEventDefinition id="reminder_timer">'
        f"<bpmn:{kind}>{expression}</bpmn:{kind}></bpmn:timerEventDefinition>\n"
        "    </bpmn:boundaryEvent>\n"
    )
    return mutate(FIXTURE, END_DONE, boundary + END_DONE)


def refused(text: str, rules: DeployRules | None = None) -> Problem:
    with pytest.raises(InvalidDefinition) as caught:
        validate(text.encode(), conventions=rules or DeployRules(), now=NOW)
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def assert_on_reminder(text: str, *words: str) -> None:
    problem = refused(text)
    assert problem.element_id == "reminder", problem
    assert problem.line == line_of(text, '<bpmn:boundaryEvent id="reminder"'), problem
    for word in words:
        assert word in problem.message, problem


def passes(text: str) -> None:
    assert validate(text.encode(), now=NOW).key == "three_steps"


# -- durations ------------------------------------------------------------------------------------
@pytest.mark.parametrize("duration", ['"PT1M"', '"PT4H"', '"P2D"', '"P10Y"', "'P520W'"])
def test_durations_from_a_minute_to_ten_years_pass(duration):
    passes(timer("timeDuration", duration))


@pytest.mark.parametrize(
    "duration, words",
    [
        ('"PT59S"', "shorter than a minute"),
        ('"PT0.5M"', "shorter than a minute"),
        ('"PT0S"', "is zero"),
        ('"P0D"', "is zero"),
        ('"-P1D"', "negative"),
        ('"P10Y1D"', "longer than 10 years"),
        ('"P99999999999Y"', "longer than 10 years"),  # refused before the library counts months
        ('"PT99999999999999999999H"', "longer than 10 years"),
        ('"soon"', "not an ISO 8601 duration"),
        ('"P1DT"', "not an ISO 8601 duration"),
    ],
)
def test_a_duration_out_of_bounds_is_refused(duration, words):
    started = time.perf_counter()
    assert_on_reminder(timer("timeDuration", duration), words)
    assert time.perf_counter() - started < QUICK


def test_a_computed_duration_is_refused_because_it_cannot_be_checked():
    assert_on_reminder(timer("timeDuration", '"P" + str(days) + "D"'), "quoted constant")


def test_the_shortest_duration_is_the_callers():
    text = timer("timeDuration", '"PT3S"')
    quick = DeployRules(timers=TimerBounds(shortest=timedelta(seconds=1)))
    assert validate(text.encode(), conventions=quick, now=NOW).key == "three_steps"


# -- cycles ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cycle",
    ['"R3/PT1H"', '"R1000/P1D"', '"R5/2026-04-01T09:00:00Z/P1W"', '"R2/PT1H/2027-01-01T00:00:00Z"'],
)
def test_bounded_cycles_pass(cycle):
    passes(timer("timeCycle", cycle))


@pytest.mark.parametrize(
    "cycle, words",
    [
        ('"R/PT1H"', "repeats without end"),
        ('"R1001/PT1H"', "from 1 to 1000 times"),
        ('"R0/PT1H"', "from 1 to 1000 times"),
        ('"R99999999999999/PT1H"', "from 1 to 1000 times"),
        ('"R10/PT59M"', "more often than once in an hour"),
        ('"R10/PT1S"', "more often than once in an hour"),
        ('"R10/P11Y"', "longer than 10 years"),
        ('"R10/2040-01-01T00:00:00Z/P1D"', "more than 10 years from now"),
        ('"R10/P1D/PT1H"', "one interval"),
        ('"every day"', "not a cycle"),
    ],
)
def test_a_cycle_out_of_bounds_is_refused(cycle, words):
    assert_on_reminder(timer("timeCycle", cycle), words)


def test_a_computed_cycle_is_refused():
    assert_on_reminder(timer("timeCycle", 'f"R{n}/PT1H"'), "quoted constant")


# -- dates ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "date", ['"2026-03-03T17:00:00Z"', '"2036-03-01T00:00:00+00:00"', '"2025-12-31T23:00:00Z"']
)
def test_dates_within_ten_years_of_the_deploy_pass(date):
    passes(timer("timeDate", date))


@pytest.mark.parametrize(
    "date, words",
    [
        ('"2036-03-03T00:00:00Z"', "more than 10 years from now"),
        ('"2016-03-01T00:00:00Z"', "more than 10 years from now"),
        ('"2026-03-03T17:00:00"', "no time zone"),
        ('"P1D"', "is a duration"),
        ('"tomorrow"', "not an ISO 8601 date"),
    ],
)
def test_a_date_out_of_bounds_is_refused(date, words):
    assert_on_reminder(timer("timeDate", date), words)


def test_a_computed_date_is_left_to_the_run_time_bounds():
    passes(timer("timeDate", "add_working_days(now(), 1).isoformat()"))


def test_dates_are_measured_from_the_given_deploy_time():
    text = timer("timeDate", '"2040-01-01T00:00:00Z"')
    with pytest.raises(InvalidDefinition):
        validate(text.encode(), now=NOW)
    assert validate(text.encode(), now=datetime(2031, 1, 1, tzinfo=UTC)).key == "three_steps"


# -- due times (camunda:dueDate) ------------------------------------------------------------------
@pytest.mark.parametrize(
    "due, words",
    [
        ("0WD", "is zero"),
        ("0WH", "is zero"),
        ("PT30S", "shorter than a minute"),
        ("PT0S", "more than nothing"),
        ("P2Y", "at most a year"),
        ("261WD", "more than a year"),
    ],
)
def test_a_due_time_out_of_bounds_is_refused_on_its_task(due, words):
    text = mutate(FIXTURE, REVIEW_DUE, f'camunda:candidateGroups="manager" camunda:dueDate="{due}"')
    problem = refused(text)
    assert problem.element_id == "review", problem
    assert problem.line == line_of(text, '<bpmn:userTask id="review"'), problem
    assert words in problem.message, problem


@pytest.mark.parametrize("due", ["1WD", "4WH", "same-day", "PT1M", "P1D"])
def test_due_times_within_bounds_pass(due):
    passes(
        mutate(FIXTURE, REVIEW_DUE, f'camunda:candidateGroups="manager" camunda:dueDate="{due}"')
    )
