"""The application factory."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from sqlalchemy import Engine as DbEngine
from sqlalchemy.orm import Session, sessionmaker

from service import logs, metrics
from service.access import RedirectToLogin, authorize, csrf, login_redirect
from service.config import Config
from service.errors import ApiError, error_response, register_error_handlers
from service.headers import add_security_headers
from storage import UnitOfWork, make_engine, make_session_factory
from tasks.calendar import script_helpers
from workflows.clock import Clock, SystemClock
from workflows.instances import Engine


@dataclass
class Services:
    """What every request needs, built once per process."""

    db: DbEngine
    session_factory: sessionmaker[Session]
    engine: Engine
    clock: Clock


def create_app(config: type[Config] | dict | None = None, clock: Clock | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.json.sort_keys = False

    clock = clock or SystemClock()
    db = make_engine(app.config["DATABASE_URL"])
    app.extensions["safeguard"] = Services(
        db=db,
        session_factory=make_session_factory(db),
        engine=Engine(clock=clock, helpers=script_helpers()),
        clock=clock,
    )

    app.session_interface = SessionInterface()
    csrf.init_app(app)
    register_error_handlers(app)
    logs.init_app(app)  # first hooks: request id and timing before any hook can refuse
    metrics.init_app(app)
    app.register_error_handler(RedirectToLogin, lambda _err: login_redirect())
    app.register_error_handler(
        CSRFError,
        lambda err: error_response(400, "csrf_failed", f"{err.description} Reload and try again."),
    )
    app.after_request(add_security_headers)
    _register_blueprints(app)

    @app.before_request
    def refuse_nul_characters() -> None:
        # PostgreSQL cannot compare or store NUL; no id, key or filter value contains one.
        if "\x00" in request.path or any(
            "\x00" in name + value for name, value in request.args.items(multi=True)
        ):
            raise ApiError(400, "bad_request", "The URL contains a NUL character.")

    @app.before_request
    def check_access() -> None:
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if view is not None and request.endpoint != "static":
            authorize(getattr(view, "access_rule", None), uow().session, clock.now())

    @app.teardown_request
    def close_unit_of_work(_exc) -> None:
        unit = g.pop("uow", None)
        if unit is not None:
            unit.__exit__(None, None, None)

    return app


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def _register_blueprints(app: Flask) -> None:
    from service.api.auth import bp as auth
    from service.api.definitions import bp as definitions
    from service.api.docs import bp as docs
    from service.api.health import bp as health
    from service.api.instances import bp as instances
    from service.pages.auth import bp as pages

    app.register_blueprint(health)
    app.register_blueprint(auth, url_prefix="/api")
    app.register_blueprint(docs, url_prefix="/api")
    app.register_blueprint(pages)
    app.register_blueprint(definitions, url_prefix="/api/process-definitions")
    app.register_blueprint(instances, url_prefix="/api/process-instances")


def services() -> Services:
    return current_app.extensions["safeguard"]


def uow() -> UnitOfWork:
    """This request's unit of work; handlers call ``uow().commit()`` once, at the end."""
    if "uow" not in g:
        g.uow = UnitOfWork(services().session_factory).__enter__()
    return g.uow
