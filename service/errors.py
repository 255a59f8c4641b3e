"""One JSON error shape for every failure (api.md): never a stack trace to a user."""

from __future__ import annotations

import logging

from flask import Flask, Response, has_request_context, jsonify, render_template, request
from markupsafe import escape
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from storage.database import is_write_conflict
from tasks.errors import Forbidden, FormInvalid
from workflows.errors import Conflict, InvalidDefinition, InvalidInput, NotFound, ScriptError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a handler raises on purpose, with its status, slug and details."""

    def __init__(self, status: int, code: str, message: str, details: list | None = None):
        self.status, self.code, self.message, self.details = status, code, message, details or []
        super().__init__(message)


# What a person at a browser reads for each status, above the error's own sentence.
HEADINGS = {
    400: "The request could not be used",
    401: "Sign in first",
    403: "You do not have access to this",
    404: "Not found",
    405: "That cannot be done here",
    409: "Someone else changed this first",
    413: "That is too large",
    415: "That kind of content is not accepted",
    422: "Some answers are not valid",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}
NOT_PAGES = ("/api/", "/healthz", "/metrics", "/static/")


def is_page_path(path: str) -> bool:
    """Pages answer errors in HTML; the API (and health, metrics, static files) in JSON."""
    return not path.startswith(NOT_PAGES)


def error_response(status: int, code: str, message: str, details: list | None = None):
    if has_request_context() and is_page_path(request.path):
        return _error_page(status, message, details or [])
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return jsonify(body), status


def _error_page(status: int, message: str, details: list):
    """An error page in the site's layout; never a stack trace. If even that cannot be drawn
    (a template or the database failing), a bare page says the same."""
    heading = HEADINGS.get(status, "Something went wrong" if status >= 500 else "That did not work")
    try:
        body = render_template(
            "error.html", status=status, heading=heading, message=message, details=details
        )
    except Exception:  # noqa: BLE001 - the error page must not fail in turn
        log.exception("could not draw the error page")
        body = f"<!doctype html><title>{status}</title><h1>{escape(heading)}</h1>"
    return Response(body, status=status, mimetype="text/html"), status


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_").replace("'", "")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(err: ApiError):
        response, status = error_response(err.status, err.code, err.message, err.details)
        retry_after = getattr(err, "retry_after", None)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response, status

    @app.errorhandler(InvalidDefinition)
    def invalid_definition(err: InvalidDefinition):
        details = [p.to_dict() for p in err.problems]
        return error_response(422, "invalid_bpmn", "The diagram is not valid.", details)

    @app.errorhandler(InvalidInput)
    def invalid_input(err: InvalidInput):
        return error_response(
            422, "invalid_input", str(err), [{"field": err.field, "message": str(err)}]
        )

    @app.errorhandler(ScriptError)
    def script_error(err: ScriptError):
        details = [{"element_id": err.element_id, "line": err.line, "message": str(err)}]
        return error_response(422, "script_error", str(err), details)

    @app.errorhandler(Forbidden)
    def forbidden(err: Forbidden):
        return error_response(403, "forbidden", str(err))

    @app.errorhandler(FormInvalid)
    def form_invalid(err: FormInvalid):
        details = [p.to_dict() for p in err.problems]
        return error_response(422, "invalid_form", "Some answers are not valid.", details)

    @app.errorhandler(NotFound)
    def not_found(err: NotFound):
        return error_response(404, "not_found", str(err))

    @app.errorhandler(Conflict)
    def conflict(err: Conflict):
        return error_response(409, "conflict", str(err))

    @app.errorhandler(DataError)
    def unstorable(err: DataError):
        # A value the database refuses (too long, out of range, NUL on PostgreSQL) that no check
        # above the database caught: the request's fault, and nothing was stored.
        log.warning("the database refused a value: %s", err.orig)
        return error_response(
            422,
            "invalid_input",
            "A value is too long, too large or contains a character that cannot be stored.",
        )

    @app.errorhandler(OperationalError)
    def busy(err: OperationalError):
        # Lost to a concurrent writer (SQLite busy, a PostgreSQL deadlock or serialization
        # failure): rolled back whole, so the caller may simply try again.
        if not is_write_conflict(err):
            return unexpected(err)
        log.warning("a write lost to a concurrent one: %s", err.orig)
        response, status = error_response(
            409, "conflict", "Someone else was changing the same record; try again."
        )
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_err: RequestEntityTooLarge):
        megabytes = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        return error_response(
            413, "request_entity_too_large", f"The request body is larger than {megabytes} MB."
        )

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        return error_response(err.code or 500, _slug(err.name), err.description or err.name)

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
