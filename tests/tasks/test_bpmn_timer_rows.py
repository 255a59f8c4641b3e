"""A BPMN timer event becomes a ``bpmn_timer`` row; the scheduler fires it through the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Timer
from tasks import timers
from tasks.scheduler import TimerScheduler, bpmn_timer_handler
from tests.workflows.helpers import deploy, open_tasks
from workflows.clock import FrozenClock
from workflows.events import PendingTimer
from workflows.instances import Engine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _rows(session_factory) -> list[Timer]:
    with session_factory() as session:
        return list(session.scalars(select(Timer).order_by(Timer.created_at)))


def test_a_bpmn_timer_row_fires_the_boundary_timer_once_due(session_factory, uow_factory):
    clock = FrozenClock(T0)
    engine = Engine(clock=clock)
    deploy(engine, uow_factory, "timer_escalation.bpmn")
    with uow_factory() as uow:
        advance = engine.start(uow, "timer_escalation")
        timers.sync_bpmn_timers(uow.session, advance.instance.id, advance.timers, now=T0)
        uow.commit()
    instance_id = advance.instance.id
    (row,) = _rows(session_factory)
    assert (row.kind, row.due_at, row.task_id) == (
        "bpmn_timer",
        T0 + timedelta(days=2),
        advance.timers[0].task_id,
    )
    assert row.payload == {"element_id": "overdue", "name": "Two days passed"}

    scheduler = TimerScheduler(session_factory, clock, {})
    scheduler.handlers["bpmn_timer"] = bpmn_timer_handler(engine, scheduler)
    assert scheduler.fire_due() == 0
    clock.advance(timedelta(days=2, seconds=1))
    assert scheduler.fire_due() == 1
    assert [t.element_id for t in open_tasks(uow_factory, instance_id)] == ["escalate"]
    assert [r.status for r in _rows(session_factory)] == ["fired"]


def test_sync_adds_new_timers_and_cancels_those_no_longer_waiting(session_factory):
    first = PendingTimer("t-1", "remind", "Remind", T0 + timedelta(hours=4))
    second = PendingTimer("t-2", "overdue", None, T0 + timedelta(days=2))
    with session_factory() as session, session.begin():
        added = timers.sync_bpmn_timers(session, None, [first, second], now=T0)
        assert len(added) == 2
    with session_factory() as session, session.begin():
        assert timers.sync_bpmn_timers(session, None, [first, second], now=T0) == []
    with session_factory() as session, session.begin():
        (added,) = timers.sync_bpmn_timers(
            session, None, [PendingTimer("t-1", "remind", "Remind", T0 + timedelta(hours=8))]
        )
        assert added.due_at == T0 + timedelta(hours=8)
    statuses = {(r.task_id, r.due_at.hour, r.status) for r in _rows(session_factory)}
    assert statuses == {
        ("t-1", 13, "cancelled"),
        ("t-2", 9, "cancelled"),
        ("t-1", 17, "pending"),
    }
