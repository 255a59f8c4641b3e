"""The timer scheduler of a serving process: which handler fires which kind of timer."""

from __future__ import annotations

from flask import Flask

from storage.uow import UnitOfWork
from tasks import effects
from tasks.scheduler import TimerScheduler, bpmn_timer_handler
from workflows.events import Advance


def start_scheduler(app: Flask) -> TimerScheduler:
    """Start the alarm clock for ``app``'s database; timers left due while down fire now."""
    services = app.extensions["safeguard"]
    scheduler: TimerScheduler | None = None

    def after(uow: UnitOfWork, advance: Advance) -> None:
        effects.after_advance(uow, advance, services.clock.now(), scheduler.rearm)

    scheduler = TimerScheduler(
        services.session_factory,
        services.clock,
        handlers={"bpmn_timer": bpmn_timer_handler(services.engine, after=after)},
    )
    services.scheduler = scheduler
    scheduler.start()
    return scheduler
