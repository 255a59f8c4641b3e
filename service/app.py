"""The application factory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import RequestEntityTooLarge

from service import input_guard, logs, metrics
from service.access import TASK_ROLES, RedirectToLogin, authorize, csrf, login_redirect
from service.config import Config
from service.errors import ApiError, error_response, register_error_handlers
from service.headers import add_security_headers
from service.records import consent, register, trail
from service.records.pending import ReadQueue
from storage import UnitOfWork, make_engine, make_session_factory
from storage.database import READ_ONLY
from tasks import effects
from tasks.assignment import make_task_policy
from tasks.calendar import script_helpers
from tasks.scheduler import TimerScheduler
from tasks.visibility import with_withholding
from workflows.clock import Clock, OffsetClock, SystemClock
from workflows.events import Advance
from workflows.instances import Engine
from workflows.rules import DeployRules, TimerBounds


@dataclass
class Services:
    """What every request needs, built once per process."""

    db: DbEngine
    session_factory: sessionmaker[Session]
    engine: Engine
    clock: Clock
    audit_queue: ReadQueue
    scheduler: TimerScheduler | None = None  # started by ``safeguard serve``, not by tests


def create_app(config: type[Config] | dict | None = None, clock: Clock | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.json.sort_keys = False

    clock = clock or _configured_clock(app)
    db = make_engine(app.config["DATABASE_URL"])
    session_factory = make_session_factory(db)
    app.extensions["safeguard"] = Services(
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

    app.session_interface = SessionInterface()
    csrf.init_app(app)
    register_error_handlers(app)
    logs.init_app(app)  # first hooks: request id and timing before any hook can refuse
    metrics.init_app(app)
    input_guard.init_app(app)  # lone surrogates refused, Location never from the Host header
    app.register_error_handler(RedirectToLogin, lambda _err: login_redirect())
    app.register_error_handler(
        CSRFError,
        lambda err: error_response(400, "csrf_failed", f"{err.description} Reload and try again."),
    )
    app.after_request(add_security_headers)
    _register_blueprints(app)

    @app.before_request
    def declare_reads() -> None:
        # GET/HEAD only read case data (their audit event is written apart, see records.trail).
        if request.method in ("GET", "HEAD", "OPTIONS"):
            g.read_only = READ_ONLY.set(True)

    @app.before_request
    def refuse_nul_characters() -> None:
        # PostgreSQL cannot compare or store NUL; no id, key or filter value contains one.
        if "\x00" in request.path or any(
            "\x00" in name + value for name, value in request.args.items(multi=True)
        ):
            raise ApiError(400, "bad_request", "The URL contains a NUL character.")

    @app.before_request
    def refuse_oversized_bodies() -> None:
        # Flask refuses a large body only when a view reads it; refuse it before anything runs.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge()

    @app.before_request
    def check_access() -> None:
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is not None and request.endpoint != "static":
            try:
                authorize(getattr(view, "access_rule", None), uow().session, clock.now())
            except ApiError as err:
                if err.status in (403, 404):  # a signed-in person refused: worth a record
                    trail.begin(app)
                raise
            trail.begin(app)

    app.after_request(trail.finish)

    @app.teardown_request
    def close_unit_of_work(_exc) -> None:
        unit = g.pop("uow", None)
        if unit is not None:
            unit.__exit__(None, None, None)
        token = g.pop("read_only", None)
        if token is not None:
            READ_ONLY.reset(token)

    return app


def _configured_clock(app: Flask) -> Clock:
    """The system clock, moved by ``CLOCK_OFFSET_SECONDS`` when a test asks for it."""
    offset = float(app.config.get("CLOCK_OFFSET_SECONDS") or 0)
    if not offset:
        return SystemClock()
    app.logger.warning("TEST ONLY: the clock is offset by %s seconds", offset)
    return OffsetClock(timedelta(seconds=offset))


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def _register_blueprints(app: Flask) -> None:
    from service.api.audit import bp as audit
    from service.api.auth import bp as auth
    from service.api.consents import bp as consents
    from service.api.definitions import bp as definitions
    from service.api.docs import bp as docs
    from service.api.escalations import bp as escalations
    from service.api.health import bp as health
    from service.api.instances import bp as instances
    from service.api.notifications import bp as notifications
    from service.api.reports import bp as reports
    from service.api.sharing import bp as sharing
    from service.api.tasks import bp as tasks
    from service.pages.auth import bp as pages
    from service.pages.cases import bp as cases
    from service.pages.inbox import bp as inbox_page
    from service.pages.modeller import bp as modeller
    from service.pages.reminders import bp as reminders_page
    from service.pages.reports import bp as report_pages
    from service.pages.work import bp as work

    app.register_blueprint(health)
    app.register_blueprint(auth, url_prefix="/api")
    app.register_blueprint(audit, url_prefix="/api")
    app.register_blueprint(consents, url_prefix="/api/consents")
    app.register_blueprint(docs, url_prefix="/api")
    app.register_blueprint(pages)
    app.register_blueprint(work)
    app.register_blueprint(cases)
    app.register_blueprint(modeller)
    app.register_blueprint(inbox_page)
    app.register_blueprint(reminders_page)
    app.register_blueprint(definitions, url_prefix="/api/process-definitions")
    app.register_blueprint(instances, url_prefix="/api/process-instances")
    app.register_blueprint(tasks, url_prefix="/api/tasks")
    app.register_blueprint(notifications, url_prefix="/api/notifications")
    app.register_blueprint(escalations, url_prefix="/api")
    app.register_blueprint(sharing, url_prefix="/api")
    app.register_blueprint(reports, url_prefix="/api")
    app.register_blueprint(report_pages)


def deploy_rules(config) -> DeployRules:
    """What a deployed diagram may say: the house conventions, the roles that may be given work
    (``service.access.TASK_ROLES``) and the timer bounds. ``config``: Flask's or a ``Config``."""
    get = config.get if hasattr(config, "get") else lambda name: getattr(config, name)
    shortest = timedelta(seconds=float(get("DIAGRAM_SHORTEST_TIMER_SECONDS")))
    return DeployRules(
        conventions=bool(get("DIAGRAM_CONVENTIONS")),
        task_roles=TASK_ROLES,
        timers=TimerBounds(shortest=shortest),
    )


def services() -> Services:
    return current_app.extensions["safeguard"]


def uow() -> UnitOfWork:
    """This request's unit of work; handlers call ``uow().commit()`` once, at the end."""
    if "uow" not in g:
        g.uow = UnitOfWork(services().session_factory).__enter__()
    return g.uow


def after_advance(unit: UnitOfWork, advance: Advance, depth: int = 0) -> None:
    """Parties, timers, reminders, register entries, hand-offs and replies an advance implies,
    in the request's transaction."""
    from service.auth import current_user
    from service.reminders import policy

    scheduler = services().scheduler
    user = current_user()
    by = user.username if user else None
    now = services().clock.now()
    effects.after_advance(
        unit,
        advance,
        now,
        scheduler.rearm if scheduler is not None else None,
        policy(current_app),
        by,
    )
    consent.after_advance(unit.session, advance, by, now)
    try:
        register.after_advance(unit.session, advance, by, now)
    except register.RegisterError as err:
        raise ApiError(
            422, "invalid_input", "The decision cannot be recorded.", err.problems
        ) from None
    if depth >= 3:  # a chain of hand-offs deeper than this is a diagram loop, not casework
        return
    starts, replies = current_app.config["MESSAGE_STARTS"], current_app.config["MESSAGE_REPLIES"]
    engine = services().engine
    for follow in effects.follow_messages(unit, engine, advance, starts, replies, by, now):
        after_advance(unit, follow, depth + 1)
