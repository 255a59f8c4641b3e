"""What a use case needs of the process it runs in, handed to it rather than read off Flask.

A use case is a plain function of the acting person, a unit of work and plain arguments. What
it also needs - the engine, the clock, the reminder policy, the scheduler to wake, the config
that says which processes read consent or start from which message, and where to write what
it learnt for the audit trail - comes on a :class:`Desk`. A request builds one with
:func:`for_request`; the timer scheduler and the command line with :func:`of_app`, so the same
use case runs with or without a request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app

from service import trail
from service.context import Services
from tasks.reminders import ReminderPolicy
from workflows.clock import Clock
from workflows.instances import Engine


def _not_noted(**_fields: Any) -> None:
    """Outside a request there is no request event to add to."""


@dataclass(frozen=True)
class Desk:
    """The process's services and config, and the audit note of the request (if any)."""

    services: Services
    config: Mapping[str, Any]
    note: Callable[..., None] = field(default=_not_noted)

    @property
    def engine(self) -> Engine:
        return self.services.engine

    @property
    def clock(self) -> Clock:
        return self.services.clock

    def now(self) -> datetime:
        return self.services.clock.now()

    @property
    def rearm(self) -> Callable[[datetime | None], None] | None:
        """Wake the scheduler for a sooner timer (read when called: it may start later)."""
        scheduler = self.services.scheduler
        return scheduler.rearm if scheduler is not None else None

    @property
    def policy(self) -> ReminderPolicy:
        return ReminderPolicy.parse(self.config.get("REMINDER_FRACTIONS"))

    @property
    def consent_on_record(self) -> tuple[str, ...]:
        """The processes that read the consent register at start and at their steps."""
        return tuple(self.config["CONSENT_ON_RECORD"])


def of_app(app: Any, note: Callable[..., None] | None = None) -> Desk:
    """The desk of ``app`` (a Flask app) for callers without a request: the scheduler, the CLI."""
    return Desk(app.extensions["safeguard"], app.config, note or _not_noted)


def for_request() -> Desk:
    """The desk of the current request: its app, and its audit event to note what happened."""
    return of_app(current_app, trail.note)
