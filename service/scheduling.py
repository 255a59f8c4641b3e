"""The timer scheduler of a serving process: which handler fires which kind of timer.

Part of the composition root (with ``app.py`` and ``cli.py``): it wires the alarm clock to the
app, and a step a BPMN timer advanced goes through the casework layer's one after-step routine
(``service/casework/after.py``), as a step a person took does, with no acting person.
"""

from __future__ import annotations

from flask import Flask

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
    return scheduler
