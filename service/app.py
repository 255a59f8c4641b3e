"""The application factory: it builds the app and nothing imports it back.

Request plumbing (services, the unit of work, what follows an advance) is ``service.context``;
views and pages import that, so the factory can import every blueprint at the top.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from service import config as settings
from service import context, input_guard, logs, metrics, oidc, trail
from service.access import RedirectToLogin, authorize, csrf, login_redirect
from service.api.audit import bp as audit
from service.api.auth import bp as auth
from service.api.consents import bp as consents
from service.api.definitions import bp as definitions
from service.api.docs import bp as docs
from service.api.escalations import bp as escalations
from service.api.health import bp as health
from service.api.instances import bp as instances
from service.api.migrations import bp as migrations
from service.api.notifications import bp as notifications
from service.api.reports import bp as reports
from service.api.sharing import bp as sharing
from service.api.tasks import bp as tasks
from service.config import Config
from service.cpu import CpuMeter
from service.errors import ApiError, error_response, register_error_handlers
from service.headers import add_security_headers
from service.pages.account import bp as account
from service.pages.admin_agencies import bp as admin_agencies
from service.pages.admin_users import bp as admin_users
from service.pages.auth import bp as pages
from service.pages.away import bp as away_page
from service.pages.cases import bp as cases
from service.pages.chronology import bp as chronology_page
from service.pages.consents import bp as consents_page
from service.pages.inbox import bp as inbox_page
from service.pages.migrate import bp as migrate_page
from service.pages.modeller import bp as modeller
from service.pages.reminders import bp as reminders_page
from service.pages.reports import bp as report_pages
from service.pages.reset import bp as reset_page
from service.pages.sso import bp as sso
from service.pages.work import bp as work
from workflows.clock import Clock


def create_app(config: type[Config] | dict | None = None, clock: Clock | None = None) -> Flask:
    """The app: ``Config``'s defaults, the environment's settings (checked: a bad one raises
    ``ConfigError`` naming it, before anything is built), then ``config``'s."""
    app = Flask(__name__)
    app.config.from_object(Config)
    app.config.update(settings.load())
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.json.sort_keys = False

    services = context.build_services(app, clock)
    app.extensions["safeguard"] = services

    app.session_interface = SessionInterface()
    csrf.init_app(app)
    oidc.init_app(app)  # an Authlib client per identity provider (docs/identity.md)
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

    context.init_app(app)  # read-only GETs, and the unit of work closed after each request

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
                authorize(
                    getattr(view, "access_rule", None), context.uow().session, services.clock.now()
                )
            except ApiError as err:
                if err.status in (403, 404):  # a signed-in person refused: worth a record
                    trail.begin(app)
                raise
            trail.begin(app)

    app.after_request(trail.finish)

    if app.config.get("CPU_LOG"):
        app.wsgi_app = CpuMeter(app.wsgi_app, app.config["CPU_LOG"])
    return app


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or request.is_secure


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(health)
    app.register_blueprint(auth, url_prefix="/api")
    app.register_blueprint(audit, url_prefix="/api")
    app.register_blueprint(consents, url_prefix="/api/consents")
    app.register_blueprint(docs, url_prefix="/api")
    app.register_blueprint(pages)
    app.register_blueprint(sso)
    app.register_blueprint(account)
    app.register_blueprint(admin_users)
    app.register_blueprint(admin_agencies)
    app.register_blueprint(reset_page)
    app.register_blueprint(away_page)
    app.register_blueprint(work)
    app.register_blueprint(cases)
    app.register_blueprint(chronology_page)
    app.register_blueprint(consents_page)
    app.register_blueprint(modeller)
    app.register_blueprint(migrate_page)
    app.register_blueprint(inbox_page)
    app.register_blueprint(reminders_page)
    app.register_blueprint(definitions, url_prefix="/api/process-definitions")
    app.register_blueprint(migrations, url_prefix="/api/process-definitions")
    app.register_blueprint(instances, url_prefix="/api/process-instances")
    app.register_blueprint(tasks, url_prefix="/api/tasks")
    app.register_blueprint(notifications, url_prefix="/api/notifications")
    app.register_blueprint(escalations, url_prefix="/api")
    app.register_blueprint(sharing, url_prefix="/api")
    app.register_blueprint(reports, url_prefix="/api")
    app.register_blueprint(report_pages)
