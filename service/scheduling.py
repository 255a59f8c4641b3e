"""The timer scheduler of a serving process: which handler fires which kind of timer."""

from __future__ import annotations

from flask import Flask

from service.records import register
from service.reminders import policy, timer_handlers
from storage.uow import UnitOfWork
from tasks import effects
from tasks.scheduler import TimerScheduler, bpmn_timer_handler
from workflows.events import Advance


def start_scheduler(app: Flask) -> TimerScheduler:
    """Start the alarm clock for ``app``'s database; timers left due while down fire now."""
    services = app.extensions["safeguard"]
    scheduler: TimerScheduler | None = None

    reminder_policy = policy(app)

    def after(uow: UnitOfWork, advance: Advance) -> None:
        now = services.clock.now()
        effects.after_advance(uow, advance, now, scheduler.rearm, reminder_policy, by="timer")
        register.after_advance(uow.session, advance, "timer", now)

    scheduler = TimerScheduler(
        services.session_factory,
        services.clock,
        handlers={
            **timer_handlers(app),
            "bpmn_timer": bpmn_timer_handler(services.engine, after=after),
        },
        lease_seconds=app.config["TIMER_LEASE_SECONDS"],
        sweep_seconds=app.config["TIMER_SWEEP_SECONDS"],
    )
    services.scheduler = scheduler
    scheduler.start()
    return scheduler
