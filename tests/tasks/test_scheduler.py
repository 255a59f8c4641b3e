"""The alarm clock: real APScheduler, real databases, no sleeping through days.

"What is due" follows the injected clock; only the wake-ups that must really happen (start-up,
a sooner re-arm) wait on wall time, for well under two seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import make_engine, make_session_factory
from storage.models import Timer
from tasks import timers
from tasks.scheduler import SWEEP_JOB, WAKE_JOB, TimerScheduler
from tests.support.waiting import wait_for
from workflows.clock import FrozenClock, SystemClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _schedule(session_factory, due_times, kind="task_due") -> list[str]:
    with session_factory() as session, session.begin():
        return [timers.schedule(session, kind, due, now=T0).id for due in due_times]


def _rows(session_factory, ids) -> list[Timer]:
    with session_factory() as session:
        return [session.get(Timer, i) for i in ids]


@pytest.fixture
def clock():
    return FrozenClock(T0)


@pytest.fixture
def make_scheduler(session_factory, clock, probe):
    made: list[TimerScheduler] = []

    def make(handlers=None, **kwargs) -> TimerScheduler:
        kwargs.setdefault("clock", clock)
        scheduler = TimerScheduler(
            kwargs.pop("session_factory", session_factory),
            handlers=handlers if handlers is not None else {"task_due": probe.record},
            **kwargs,
        )
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.shutdown()


def test_fire_due_fires_what_the_clock_says_is_due_exactly_once(
    session_factory, clock, probe, make_scheduler
):
    due = _schedule(session_factory, [T0 - timedelta(hours=1), T0])
    later = _schedule(session_factory, [T0 + timedelta(days=2)])
    scheduler = make_scheduler(worker_id="w1")
    assert scheduler.fire_due() == 2
    assert scheduler.fire_due() == 0
    assert probe.counts() == dict.fromkeys(due, 1)
    assert [r.status for r in _rows(session_factory, due + later)] == ["fired", "fired", "pending"]
    assert _rows(session_factory, due)[0].fired_at == T0
    clock.advance(timedelta(days=2))
    assert scheduler.fire_due() == 1
    assert probe.counts()[later[0]] == 1


def test_a_failing_handler_loses_no_other_timer_and_is_retried(
    session_factory, clock, probe, make_scheduler
):
    calls = {"n": 0}

    def flaky(uow, timer):
        probe.record(uow, timer)  # rolled back with the failure
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("mail server down")

    ids = _schedule(session_factory, [T0 - timedelta(minutes=3)], kind="task_reminder")
    ids += _schedule(session_factory, [T0 - timedelta(minutes=2), T0 - timedelta(minutes=1)])
    scheduler = make_scheduler({"task_due": probe.record, "task_reminder": flaky}, retry_seconds=30)
    assert scheduler.fire_due() == 2
    failed = _rows(session_factory, ids[:1])[0]
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.due_at == T0 + timedelta(seconds=30)
    assert "RuntimeError: mail server down" in failed.last_error
    assert probe.counts() == {ids[1]: 1, ids[2]: 1}
    clock.advance(timedelta(seconds=30))
    assert scheduler.fire_due() == 1
    assert probe.counts() == dict.fromkeys(ids, 1)


def test_a_handler_that_always_fails_is_given_up_after_max_attempts(
    session_factory, clock, make_scheduler
):
    def broken(uow, timer):
        raise KeyError("business_key")

    (timer_id,) = _schedule(session_factory, [T0])
    scheduler = make_scheduler({"task_due": broken}, max_attempts=3, retry_seconds=10)
    for _ in range(3):
        scheduler.fire_due()
        clock.advance(timedelta(minutes=5))
    (row,) = _rows(session_factory, [timer_id])
    assert (row.status, row.attempts) == ("failed", 3)
    assert "KeyError: 'business_key'" in row.last_error


def test_an_unknown_kind_fails_with_a_clear_error(session_factory, make_scheduler):
    (timer_id,) = _schedule(session_factory, [T0], kind="carrier_pigeon")
    make_scheduler().fire_due()
    (row,) = _rows(session_factory, [timer_id])
    assert row.status == "failed"
    assert row.last_error == "no handler for timer kind 'carrier_pigeon'"


def test_timers_left_by_a_dead_worker_fire_after_the_lease(
    session_factory, clock, probe, make_scheduler
):
    ids = _schedule(session_factory, [T0 - timedelta(minutes=1)] * 3)
    with session_factory() as session, session.begin():
        timers.claim_due(session, T0, "killed-worker", 10, timedelta(minutes=5))
    scheduler = make_scheduler(worker_id="survivor", lease_seconds=60)
    assert scheduler.fire_due() == 0
    clock.advance(timedelta(minutes=5))
    assert scheduler.fire_due() == 3
    assert probe.counts() == dict.fromkeys(ids, 1)
    assert probe.workers() == {"survivor"}


def test_timers_due_while_down_fire_on_start(session_factory, probe, make_scheduler):
    ids = _schedule(session_factory, [T0 - timedelta(days=3), T0 - timedelta(seconds=1)])
    scheduler = make_scheduler(sweep_seconds=3600)
    scheduler.start()
    assert wait_for(lambda: probe.counts() == dict.fromkeys(ids, 1))


def test_idle_scheduler_has_only_the_sweep_and_a_wake_at_the_earliest_timer(
    session_factory, clock, make_scheduler
):
    scheduler = make_scheduler(sweep_seconds=60)
    scheduler.start()
    (sweep,) = scheduler.jobs()
    assert sweep.id == SWEEP_JOB and sweep.trigger.interval == timedelta(seconds=60)
    assert scheduler.armed_at is None

    due = T0 + timedelta(days=2)
    _schedule(session_factory, [due, due + timedelta(days=1)])
    scheduler.rearm(due)
    scheduler.rearm(due + timedelta(days=1))  # later than armed: ignored
    jobs = {job.id: job for job in scheduler.jobs()}
    assert set(jobs) == {SWEEP_JOB, WAKE_JOB}
    assert scheduler.armed_at == due
    wake_in = jobs[WAKE_JOB].next_run_time - datetime.now(UTC)
    assert timedelta(days=2) - timedelta(minutes=1) < wake_in <= timedelta(days=2)

    clock.advance(timedelta(days=2))
    assert scheduler.fire_due() == 1
    assert scheduler.armed_at == due + timedelta(days=1)  # re-armed at the next one


def test_rearm_to_a_sooner_time_wakes_the_scheduler(session_factory, probe, make_scheduler):
    clock = SystemClock()
    now = clock.now()
    _schedule(session_factory, [now + timedelta(hours=1)])
    scheduler = make_scheduler(clock=clock, sweep_seconds=3600)
    scheduler.start()
    assert abs(scheduler.armed_at - (now + timedelta(hours=1))) < timedelta(seconds=1)

    soon = clock.now() + timedelta(milliseconds=300)
    with session_factory() as session, session.begin():
        (soon_id,) = [timers.schedule(session, "task_due", soon).id]
    scheduler.rearm(soon)
    assert scheduler.armed_at == soon
    assert wait_for(lambda: probe.counts() == {soon_id: 1}, seconds=2)
    assert wait_for(lambda: scheduler.armed_at == now + timedelta(hours=1), seconds=1)


def test_rearm_on_commit_waits_for_the_commit(uow_factory, clock, make_scheduler):
    scheduler = make_scheduler(sweep_seconds=3600)
    scheduler.start()
    due = T0 + timedelta(hours=2)
    with uow_factory() as uow:
        timers.schedule(uow.session, "task_due", due)
        scheduler.rearm_on_commit(uow, due)
        assert scheduler.armed_at is None
        uow.commit()
    assert scheduler.armed_at == due


def test_several_schedulers_fire_each_timer_exactly_once_on_postgresql(
    db_url, session_factory, clock, probe, make_scheduler
):
    if not db_url.startswith("postgresql"):
        pytest.skip("several schedulers share a database only on PostgreSQL")
    ids = _schedule(session_factory, [T0 - timedelta(milliseconds=i) for i in range(500)])
    engines = [make_engine(db_url) for _ in range(4)]
    try:
        schedulers = [
            make_scheduler(
                session_factory=make_session_factory(engine),
                worker_id=f"worker-{n}",
                batch=20,
                sweep_seconds=3600,
            )
            for n, engine in enumerate(engines)
        ]
        for scheduler in schedulers:
            scheduler.start()
        assert wait_for(lambda: len(probe.counts()) == 500, seconds=30)
        for scheduler in schedulers:
            scheduler.shutdown()
        counts = probe.counts()
        assert counts == dict.fromkeys(ids, 1)
        assert {r.status for r in _rows(session_factory, ids)} == {"fired"}
        assert len(probe.workers()) > 1  # the work really was shared
    finally:
        for engine in engines:
            engine.dispose()
