"""The timer scheduler of a serving process: which handler fires which kind of timer.

Part of the composition root (with ``app.py`` and ``cli.py``): it wires the alarm clock to the
app, and a step a BPMN timer advanced goes through the casework layer's one after-step routine
(``service/casework/after.py``), as a step a person took does, with no acting person.
"""

from __future__ import annotations

from flask import Flask

from records import sealing
from service.casework import timers
from service.reminders import timer_handlers
from tasks.scheduler import TimerScheduler


def start_scheduler(app: Flask) -> TimerScheduler:
    """Start the alarm clock for ``app``'s database; timers left due while down fire now."""
    services = app.extensions["safeguard"]
    scheduler = TimerScheduler(
        services.session_factory,
        services.clock,
        handlers={**timer_handlers(app), "bpmn_timer": timers.bpmn_timer_handler(app)},
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
    scheduler.on_shutdown(services.audit_queue.close)  # queued read events are kept

    def seal() -> None:
        services.audit_queue.flush()
        sealing.seal(
            services.session_factory,
            services.clock.now(),
            batch=int(app.config["AUDIT_SEAL_BATCH"]),
            heads_file=app.config["AUDIT_HEADS_FILE"],
        )

    scheduler.every(float(app.config["AUDIT_SEAL_SECONDS"]), seal, "audit-seal")
