"""Request plumbing: the per-process services and the per-request unit of work. What follows an
advance is the casework layer's (``service/casework/after.py``).

Kept apart from the factory (``service/app.py``) so that views, pages and the audit trail reach
the request's context without importing the module that imports them: the factory builds the
app and registers the blueprints; this module only knows the current app through Flask's
``current_app`` and ``g`` (as ``db.py`` does in Flask's tutorial).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, g, request
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from records.pending import ReadQueue
from service.sessions import touch
from storage import UnitOfWork, make_engine, make_session_factory
from storage.database import READ_ONLY
from tasks.assignment import make_task_policy
from tasks.calendar import script_helpers
from tasks.scheduler import TimerScheduler
from tasks.visibility import with_withholding
from workflows.clock import Clock, OffsetClock, SystemClock
from workflows.instances import Engine
from workflows.roles import TASK_ROLES
from workflows.rules import DeployRules, TimerBounds

# GETs that write: an identity provider sends the browser back by GET, and that GET signs in
# (a session row, the person's link; service/pages/sso.py).
WRITING_GETS = frozenset({"sso.callback"})


@dataclass
class Services:
    """What every request needs, built once per process."""

    db: DbEngine
    session_factory: sessionmaker[Session]
    engine: Engine
    clock: Clock
    audit_queue: ReadQueue
    scheduler: TimerScheduler | None = None  # started by ``safeguard serve``, not by tests


def build_services(app: Flask, clock: Clock | None = None) -> Services:
    """The database, the engine and the clock of ``app``'s config (the clock may be given)."""
    clock = clock or _configured_clock(app)
    db = make_engine(app.config["DATABASE_URL"])
    session_factory = make_session_factory(db)
    return Services(
        db=db,
        session_factory=session_factory,
        engine=Engine(
            clock=clock,
            helpers=script_helpers(),
            # Advice without identity: each task row says whether it withholds the child.
            task_policy=with_withholding(make_task_policy()),
            conventions=deploy_rules(app.config),
        ),
        clock=clock,
        audit_queue=ReadQueue(session_factory, int(app.config["AUDIT_FLUSH_ROWS"])),
    )


def _configured_clock(app: Flask) -> Clock:
    """The system clock, moved by ``CLOCK_OFFSET_SECONDS`` when a test asks for it."""
    offset = float(app.config.get("CLOCK_OFFSET_SECONDS") or 0)
    if not offset:
        return SystemClock()
    app.logger.warning("TEST ONLY: the clock is offset by %s seconds", offset)
    return OffsetClock(timedelta(seconds=offset))


def deploy_rules(config) -> DeployRules:
    """What a deployed diagram may say: the house conventions, the roles that may be given work
    (``workflows.roles.TASK_ROLES``) and the timer bounds. ``config``: Flask's or a ``Config``."""
    get = config.get if hasattr(config, "get") else lambda name: getattr(config, name)
    shortest = timedelta(seconds=float(get("DIAGRAM_SHORTEST_TIMER_SECONDS")))
    return DeployRules(
        conventions=bool(get("DIAGRAM_CONVENTIONS")),
        task_roles=TASK_ROLES,
        timers=TimerBounds(shortest=shortest),
    )


def init_app(app: Flask) -> None:
    """Open nothing up front; declare reads read-only, and close the unit when the request ends.

    Registered by the factory where the order of ``before_request`` hooks needs it: after the
    request id and input checks, before access is checked (which opens the unit of work).
    """

    @app.before_request
    def declare_reads() -> None:
        # GET/HEAD only read case data (their audit event is written apart, see service.trail).
        if request.method in ("GET", "HEAD", "OPTIONS") and request.endpoint not in WRITING_GETS:
            g.read_only = READ_ONLY.set(True)

    @app.teardown_request
    def close_unit_of_work(_exc) -> None:
        unit = g.pop("uow", None)
        if unit is not None:
            unit.__exit__(None, None, None)
        token = g.pop("read_only", None)
        if token is not None:
            READ_ONLY.reset(token)
        # The session or token used, when its last use is a minute old (service/sessions.py):
        # written once the request's own transaction is over, so a read stays a read.
        used = g.pop("touch", None)
        if used is not None:
            queue = services().audit_queue
            touch(services().session_factory, *used, services().clock.now(), queue.defer)


def services() -> Services:
    return current_app.extensions["safeguard"]


def uow() -> UnitOfWork:
    """This request's unit of work; handlers call ``uow().commit()`` once, at the end."""
    if "uow" not in g:
        g.uow = UnitOfWork(services().session_factory).__enter__()
    return g.uow
