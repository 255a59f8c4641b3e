"""One JSON error shape for every failure (api.md): never a stack trace to a user."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from storage.database import is_write_conflict
from tasks.errors import Forbidden, FormInvalid
from workflows.errors import Conflict, InvalidDefinition, InvalidInput, NotFound, ScriptError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a handler raises on purpose, with its status, slug and details."""

    def __init__(self, status: int, code: str, message: str, details: list | None = None):
        self.status, self.code, self.message, self.details = status, code, message, details or []
        super().__init__(message)


def error_response(status: int, code: str, message: str, details: list | None = None):
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return jsonify(body), status


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

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        return error_response(err.code or 500, _slug(err.name), err.description or err.name)

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
