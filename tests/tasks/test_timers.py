"""The durable timers table: schedule, claim once, cancel, leases, failures (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.models import Timer
from tasks import timers
from tests.workflows.helpers import deploy, start
from workflows.instances import Engine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _schedule(session_factory, *offsets_minutes, kind="task_due", **kwargs) -> list[str]:
    with session_factory() as session, session.begin():
        rows = [
            timers.schedule(session, kind, T0 + timedelta(minutes=m), now=T0, **kwargs)
            for m in offsets_minutes
        ]
        return [row.id for row in rows]


def _claim(session_factory, now=T0, worker="w1", limit=100) -> list[Timer]:
    with session_factory() as session, session.begin():
        return timers.claim_due(session, now, worker, limit, LEASE)


def _status(session_factory, timer_id) -> str:
    with session_factory() as session:
        return session.get(Timer, timer_id).status


def test_due_timers_are_claimed_once_oldest_first(session_factory):
    late, early, future = _schedule(session_factory, -1, -5, 30)
    claimed = _claim(session_factory)
    assert [t.id for t in claimed] == [early, late]
    assert {t.status for t in claimed} == {"claimed"}
    assert claimed[0].claimed_by == "w1" and claimed[0].claimed_until == T0 + LEASE
    assert claimed[0].attempts == 1
    assert _claim(session_factory, worker="w2") == []
    with session_factory() as session, session.begin():
        assert timers.mark_fired(session, claimed[0], T0)
        assert not timers.mark_fired(session, claimed[0], T0)  # once only
    assert _status(session_factory, early) == "fired"
    with session_factory() as session:
        # the other claim's lease expires before the future timer is due
        assert timers.earliest_pending(session) == T0 + LEASE
    assert _status(session_factory, future) == "pending"


def test_claim_respects_the_batch_limit(session_factory):
    _schedule(session_factory, *range(-10, 0))
    assert len(_claim(session_factory, limit=4)) == 4
    assert len(_claim(session_factory, limit=4)) == 4
    assert len(_claim(session_factory, limit=4)) == 2


def test_earliest_pending_is_none_when_nothing_waits(session_factory):
    with session_factory() as session:
        assert timers.earliest_pending(session) is None
    _schedule(session_factory, 90, 60)
    with session_factory() as session:
        assert timers.earliest_pending(session) == T0 + timedelta(minutes=60)


def test_naive_due_time_is_refused(session_factory):
    with session_factory() as session, pytest.raises(ValueError):
        timers.schedule(session, "task_due", datetime(2026, 1, 1))


def test_cancel_for_task_by_kind_and_a_claimed_timer_loses_its_fire(session_factory):
    due, reminder = (
        _schedule(session_factory, -1, task_id="task-1")[0],
        _schedule(session_factory, 10, kind="task_reminder", task_id="task-1")[0],
    )
    other = _schedule(session_factory, -1, task_id="task-2")[0]
    claimed = {t.id: t for t in _claim(session_factory)}
    with session_factory() as session, session.begin():
        assert timers.cancel_for_task(session, "task-1", kinds=["task_reminder"]) == 1
    assert _status(session_factory, reminder) == "cancelled"
    assert _status(session_factory, due) == "claimed"
    with session_factory() as session, session.begin():
        assert timers.cancel_for_task(session, "task-1") == 1
    with session_factory() as session, session.begin():
        assert not timers.mark_fired(session, claimed[due], T0)  # cancelled while in flight
        assert timers.mark_fired(session, claimed[other], T0)
    assert _status(session_factory, due) == "cancelled"
    assert _status(session_factory, other) == "fired"


def test_cancel_for_instance(session_factory, uow_factory):
    engine = Engine()
    deploy(engine, uow_factory)
    instance_id = start(engine, uow_factory).instance.id
    mine = _schedule(session_factory, 5, 10, instance_id=instance_id)
    theirs = _schedule(session_factory, 5)
    with session_factory() as session, session.begin():
        assert len(timers.pending_for_instance(session, instance_id)) == 2
        assert timers.cancel_for_instance(session, instance_id) == 2
    assert {_status(session_factory, i) for i in mine} == {"cancelled"}
    assert _status(session_factory, theirs[0]) == "pending"


def test_an_expired_lease_is_claimed_again_and_the_old_claim_is_void(session_factory):
    (timer_id,) = _schedule(session_factory, -1)
    (dead,) = _claim(session_factory, worker="dead-worker")
    assert _claim(session_factory, now=T0 + LEASE - timedelta(seconds=1), worker="w2") == []
    (taken,) = _claim(session_factory, now=T0 + LEASE, worker="w2")
    assert taken.id == timer_id and taken.claimed_by == "w2" and taken.attempts == 2
    with session_factory() as session, session.begin():
        assert not timers.mark_fired(session, dead, T0)
        assert timers.mark_fired(session, taken, T0 + LEASE)


def test_a_failure_goes_back_to_pending_later_or_gives_up(session_factory):
    first, second = _schedule(session_factory, -2, -1)
    a, b = _claim(session_factory)
    retry_at = T0 + timedelta(minutes=1)
    with session_factory() as session, session.begin():
        assert timers.mark_failed(session, a, T0, "KeyError: 'x'", retry_at)
        assert timers.mark_failed(session, b, T0, "no handler", None)
    with session_factory() as session:
        row_a, row_b = session.get(Timer, first), session.get(Timer, second)
        assert (row_a.status, row_a.due_at, row_a.last_error) == (
            "pending",
            retry_at,
            "KeyError: 'x'",
        )
        assert row_a.claimed_by is None
        assert (row_b.status, row_b.last_error) == ("failed", "no handler")
    assert _claim(session_factory) == []
    assert [t.id for t in _claim(session_factory, now=retry_at)] == [first]
