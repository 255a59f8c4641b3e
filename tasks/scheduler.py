"""APScheduler as the alarm clock for the durable timers table.

One ``date`` job (``wake``) is armed at the earliest pending due time found in the database; a
writer of a sooner timer calls :meth:`TimerScheduler.rearm` after its commit. A slow ``interval``
job (``sweep``) covers everything else: timers written by other processes, a lost re-arm, a
clock that jumped. With nothing due, the process sleeps until the earliest timer or the sweep —
no polling.

Firing claims a batch of due rows (``tasks.timers.claim_due``), then runs each handler in its
own unit of work together with ``mark_fired``; a handler that raises is rolled back alone and
its row is retried later with back-off, the error kept on the row.

Times: "what is due" always comes from the injected :class:`~workflows.clock.Clock`. Only the
wall-clock moment at which APScheduler wakes is derived from real time (``due - clock.now()``
from now), so a test with a ``FrozenClock`` advances the clock and calls :meth:`fire_due` or
:meth:`rearm` instead of sleeping.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ProcessInstance, Timer
from storage.uow import UnitOfWork
from tasks import timers
from workflows.clock import Clock

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Timer], None]
WAKE_JOB, SWEEP_JOB = "wake", "sweep"


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TimerScheduler:
    """Fires durable timers on time, exactly once, from one or many processes.

    ``handlers`` maps a timer kind to ``handler(uow, timer)``; the handler does its work through
    ``uow.session`` (and may register ``uow.on_commit`` callbacks) but does not commit.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        handlers: Mapping[str, Handler],
        worker_id: str | None = None,
        *,
        sweep_seconds: float = 60,
        batch: int = 100,
        lease_seconds: float = 300,
        max_attempts: int = 10,
        retry_seconds: float = 30,
        max_retry_seconds: float = 3600,
    ):
        self.session_factory = session_factory
        self.clock = clock
        self.handlers = dict(handlers)
        self.worker_id = worker_id or default_worker_id()
        self.sweep_seconds = sweep_seconds
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            # A wake-up that comes late must still run: nothing is lost by firing late.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._arm_lock = threading.Lock()
        self._fire_lock = threading.Lock()
        self._armed: datetime | None = None  # due time (clock time) the wake job is set for
        self._on_shutdown: list[Callable[[], object]] = []
        self._running = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the alarm clock; timers left due while the service was down fire at once.

        The wake job is armed at the earliest pending time, which for timers overdue since
        before start-up is in the past, so it runs immediately in the scheduler's thread.
        """
        self._scheduler.start()
        self._running = True
        self._scheduler.add_job(
            self._sweep, "interval", seconds=self.sweep_seconds, id=SWEEP_JOB, replace_existing=True
        )
        self._rearm_from_database()

    @property
    def running(self) -> bool:
        """Started and its APScheduler thread alive (what /healthz reports)."""
        return self._running and self._scheduler.running

    def on_shutdown(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` when the scheduler shuts down (what it started stops with it)."""
        self._on_shutdown.append(callback)

    def shutdown(self, wait: bool = True) -> None:
        if self._running:
            self._running = False
            self._scheduler.shutdown(wait=wait)
        callbacks, self._on_shutdown = self._on_shutdown, []
        for callback in callbacks:
            callback()

    def __enter__(self) -> TimerScheduler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    @property
    def armed_at(self) -> datetime | None:
        """The due time (clock time) the wake-up is armed for; ``None``: only the sweep."""
        return self._armed

    def every(self, seconds: float, job: Callable[[], None], job_id: str) -> None:
        """Run ``job`` every ``seconds`` in the scheduler's thread (periodic upkeep beside the
        timers, e.g. sealing the audit trail); an exception is logged and the job runs again."""

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("periodic job %s failed", job_id)

        self._scheduler.add_job(run, "interval", seconds=seconds, id=job_id, replace_existing=True)

    def jobs(self) -> list:
        """APScheduler's jobs (for health checks and tests)."""
        return self._scheduler.get_jobs()

    # -- arming ----------------------------------------------------------------------------
    def rearm(self, due_at: datetime | None) -> None:
        """Wake at ``due_at`` if that is sooner than the armed time. Cheap: no database access.

        Call it after the commit that wrote the timer (see :meth:`rearm_on_commit`); calling it
        before would let the wake-up run before the row is visible.
        """
        if due_at is None or not self._running:
            return
        with self._arm_lock:
            if self._armed is not None and self._armed <= due_at:
                return
            self._armed = due_at
            run_date = self._wall_time(due_at)
            # More than one instance may run: a wake-up armed while the last one is still firing
            # must not be skipped (it waits on the fire lock, then finds what is due).
            self._scheduler.add_job(
                self._wake,
                "date",
                run_date=run_date,
                id=WAKE_JOB,
                replace_existing=True,
                max_instances=4,
            )

    def rearm_on_commit(self, uow: UnitOfWork, due_at: datetime) -> None:
        """``uow.on_commit(lambda: scheduler.rearm(due_at))``: re-arm once the timer is durable."""
        uow.on_commit(lambda: self.rearm(due_at))

    def _wall_time(self, due_at: datetime) -> datetime:
        wall_now = datetime.now(UTC)
        return wall_now + max(due_at - self.clock.now(), timedelta(0))

    def _rearm_from_database(self) -> None:
        # Forget the armed time *before* reading the database: a rearm() for a timer committed
        # after the read then arms by itself instead of being overwritten by a later time.
        with self._arm_lock:
            self._armed = None
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(WAKE_JOB)
        with self.session_factory() as session:
            earliest = timers.earliest_pending(session)
        self.rearm(earliest)

    # -- firing ----------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._arm_lock:
            self._armed = None
        self._run_safely()

    def _sweep(self) -> None:
        self._run_safely()

    def _run_safely(self) -> None:
        try:
            self.fire_due()
        except Exception:  # the alarm clock must survive a database outage; the sweep retries
            log.exception("firing due timers failed")

    def fire_due(self, now: datetime | None = None) -> int:
        """Fire every timer due at ``now`` (default: the clock's now); how many fired.

        Usable synchronously (tests, a CLI command). Re-arms the wake-up at the next earliest
        due time afterwards when the scheduler is running.
        """
        fired = 0
        with self._fire_lock:
            while True:
                moment = now or self.clock.now()
                try:
                    with self.session_factory() as session, session.begin():
                        claimed = timers.claim_due(
                            session, moment, self.worker_id, self.batch, self.lease
                        )
                except OperationalError:
                    # SQLite with a second writer busy for longer than busy_timeout: try later.
                    log.warning("could not claim due timers; will retry", exc_info=True)
                    break
                for timer in claimed:
                    fired += self._fire_one(timer)
                if len(claimed) < self.batch:
                    break
        if self._running:
            self._rearm_from_database()
        return fired

    def _fire_one(self, timer: Timer) -> int:
        handler = self.handlers.get(timer.kind)
        if handler is None:
            self._failed(timer, f"no handler for timer kind {timer.kind!r}", retry=False)
            return 0
        uow = UnitOfWork(self.session_factory)
        try:
            with uow:
                handler(uow, timer)
                if not timers.mark_fired(uow.session, timer, self.clock.now()):
                    # Cancelled, or our lease expired and another worker owns it now.
                    uow.rollback()
                    return 0
                uow.commit()
        except Exception as err:
            detail = "".join(traceback.format_exception_only(err)).strip()
            log.warning("timer %s (%s) failed: %s", timer.id, timer.kind, detail)
            self._failed(timer, detail, retry=True)
            return 0
        # Which worker fired what, for operations (and the multi-worker tests).
        log.info(
            "timer fired",
            extra={"timer_id": timer.id, "timer_kind": timer.kind, "worker": self.worker_id},
        )
        return 1

    def _failed(self, timer: Timer, error: str, retry: bool) -> None:
        now = self.clock.now()
        retry_at = None
        if retry and timer.attempts < self.max_attempts:
            delay = min(self.retry_seconds * 2 ** (timer.attempts - 1), self.max_retry_seconds)
            retry_at = now + timedelta(seconds=delay)
        try:
            with self.session_factory() as session, session.begin():
                timers.mark_failed(session, timer, now, error, retry_at)
        except Exception:  # the lease expiry will bring it back
            log.exception("could not record the failure of timer %s", timer.id)


def bpmn_timer_handler(
    engine, scheduler: TimerScheduler | None = None, after: Callable | None = None
) -> Handler:
    """The handler for ``bpmn_timer`` rows: let the instance's timer event fire in the engine.

    ``engine`` is a :class:`workflows.instances.Engine` sharing the scheduler's clock. Timers
    the advance leaves pending (the next cycle of a repeating timer, timers of tasks that
    opened) become rows in the same transaction, and re-arm ``scheduler`` after the commit.
    An instance that is no longer running has nothing to fire: the row is simply done.
    """

    def handle(uow: UnitOfWork, timer: Timer) -> None:
        instance = uow.session.get(ProcessInstance, timer.instance_id)
        if instance is None or instance.status != "running":
            return
        advance = engine.fire_timer(uow, timer.instance_id, timer.task_id)
        if after is not None:  # the service's own follow-up: parties, timers, reminders
            after(uow, advance, timer.id)
            return
        added = timers.sync_bpmn_timers(
            uow.session, timer.instance_id, advance.timers, now=engine.clock.now(), keep=timer.id
        )
        if scheduler is not None and added:
            scheduler.rearm_on_commit(uow, min(t.due_at for t in added))

    return handle
