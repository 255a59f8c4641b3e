"""The timer scheduler of a serving process: which handler fires which kind of timer."""

from __future__ import annotations

from flask import Flask

from records import register, sealing
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

    starts, replies = app.config["MESSAGE_STARTS"], app.config["MESSAGE_REPLIES"]

    def after(uow: UnitOfWork, advance: Advance, firing: str | None = None, depth: int = 0) -> None:
        now = services.clock.now()
        rearm = scheduler.rearm
        effects.after_advance(uow, advance, now, rearm, reminder_policy, by="timer", firing=firing)
        register.after_advance(uow.session, advance, "timer", now)
        if depth >= 3:  # as service.context.after_advance: deeper is a diagram loop
            return
        # A step a timer advanced may hand off or reply too: nothing it throws is lost.
        engine = services.engine
        for follow in effects.follow_messages(uow, engine, advance, starts, replies, None, now):
            after(uow, follow, None, depth + 1)

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
    start_audit_upkeep(app, scheduler)
    return scheduler


def start_audit_upkeep(app: Flask, scheduler: TimerScheduler) -> None:
    """Queued read events flushed by a background thread; the audit chain sealed periodically
    by whichever process's scheduler holds the seal row (the others skip it)."""
    services = app.extensions["safeguard"]
    services.audit_queue.start(float(app.config["AUDIT_FLUSH_SECONDS"]))

    def seal() -> None:
        services.audit_queue.flush()
        sealing.seal(
            services.session_factory,
            services.clock.now(),
            batch=int(app.config["AUDIT_SEAL_BATCH"]),
            heads_file=app.config["AUDIT_HEADS_FILE"],
        )

    scheduler.every(float(app.config["AUDIT_SEAL_SECONDS"]), seal, "audit-seal")
