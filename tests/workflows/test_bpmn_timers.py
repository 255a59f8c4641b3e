"""BPMN timer events follow the engine's injected clock: two days pass in a line of test code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.workflows.helpers import deploy, open_tasks, start, the_open_task
from workflows.clock import FrozenClock
from workflows.facts import open_user_tasks, pending_timers
from workflows.instances import Engine
from workflows.timers import ClockedDurationTimerEventDefinition, parse_recurring_interval

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIXTURE = "timer_escalation.bpmn"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def engine(clock, uow_factory) -> Engine:
    engine = Engine(clock=clock)
    deploy(engine, uow_factory, FIXTURE)
    return engine


def _fire(engine, uow_factory, instance_id):
    with uow_factory() as uow:
        advance = engine.fire_timer(uow, instance_id)
        uow.commit()
    return advance


def test_the_parser_builds_clocked_timers(engine, uow_factory):
    instance_id = start(engine, uow_factory, "timer_escalation").instance.id
    with uow_factory() as uow:
        _, workflow = engine.load(uow, instance_id)
    (task,) = workflow.event_manager.tasks.values()
    assert isinstance(task.task_spec.event_definition, ClockedDurationTimerEventDefinition)


def test_a_two_day_boundary_timer_is_due_two_days_after_the_clock_says(engine, clock, uow_factory):
    advance = start(engine, uow_factory, "timer_escalation")
    (timer,) = advance.timers
    assert (timer.element_id, timer.name, timer.due_at) == (
        "overdue",
        "Two days passed",
        T0 + timedelta(days=2),
    )
    with uow_factory() as uow:
        _, workflow = engine.load(uow, advance.instance.id)
    assert pending_timers(workflow) == [timer]


def test_the_timer_fires_only_once_the_clock_has_passed_it(engine, clock, uow_factory):
    instance_id = start(engine, uow_factory, "timer_escalation").instance.id
    review = the_open_task(uow_factory, instance_id)

    clock.advance(timedelta(days=1, hours=23))
    advance = _fire(engine, uow_factory, instance_id)
    assert advance.closed == () and len(advance.timers) == 1
    assert the_open_task(uow_factory, instance_id).id == review.id

    clock.advance(timedelta(hours=1, seconds=1))
    advance = _fire(engine, uow_factory, instance_id)
    assert advance.closed == (review.id,)
    assert [t.element_id for t in advance.opened] == ["escalate"]
    assert advance.timers == ()
    tasks = open_tasks(uow_factory, instance_id)
    assert [t.element_id for t in tasks] == ["escalate"]


def test_a_restarted_engine_keeps_the_due_time_and_uses_its_own_clock(db_url, uow_factory):
    first = Engine(clock=FrozenClock(T0))
    deploy(first, uow_factory, FIXTURE)
    instance_id = start(first, uow_factory, "timer_escalation").instance.id

    later = Engine(clock=FrozenClock(T0 + timedelta(days=3)))  # a new process, days later
    with uow_factory() as uow:
        _, workflow = later.load(uow, instance_id)
    assert [t.due_at for t in pending_timers(workflow)] == [T0 + timedelta(days=2)]
    workflow.refresh_timers()
    workflow.do_engine_steps()
    assert list(open_user_tasks(workflow).values())[0].task_spec.bpmn_id == "escalate"
    assert len(open_user_tasks(workflow)) == 1


def test_duration_only_cycles_start_from_the_clock():
    cycles, first, duration = parse_recurring_interval("R3/P1D", T0)
    assert (cycles, first, duration) == (3, T0 + timedelta(days=1), timedelta(days=1))
    cycles, first, _ = parse_recurring_interval("R2/2026-01-01T00:00:00+00:00/PT1H", T0)
    assert (cycles, first) == (2, datetime(2026, 1, 1, tzinfo=UTC))
