"""A BPMN timer fired: the engine moves the instance on, then the one after-step routine runs
with no acting person (recorded as ``timer``), so a step a timer took starts hand-offs, sends
replies and records consents exactly as a step a person took."""

from __future__ import annotations

from typing import Any

from service.casework.after import after_step
from service.casework.desk import Desk, of_app
from storage.uow import UnitOfWork
from tasks.scheduler import Handler
from tasks.scheduler import bpmn_timer_handler as engine_handler
from workflows.events import Advance


def after_timer(desk: Desk, unit: UnitOfWork, advance: Advance, firing: str | None) -> None:
    """What follows a step the timer row ``firing`` advanced, in the worker's transaction."""
    after_step(desk, unit, advance, None, firing)


def bpmn_timer_handler(app: Any) -> Handler:
    """The scheduler's handler for ``bpmn_timer`` rows of ``app`` (a Flask app)."""
    desk = of_app(app)
    return engine_handler(
        desk.engine,
        after=lambda unit, advance, firing=None: after_timer(desk, unit, advance, firing),
    )
