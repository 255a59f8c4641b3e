"""Structured logs: one JSON object per line on stderr, each request tagged with a request id.

Why JSON: the partnership's log shipper (and ``jq`` on a laptop) can filter on fields instead of
parsing prose. Why a request id: one support call ("it failed at 10:02") can be followed through
every line a request wrote, and the caller sees the same id in the ``X-Request-Id`` header.

What is never logged, because the data is about children at risk: request or response bodies, query
strings, concrete URL paths (they carry instance, task and child identifiers — we log the route
*template*, e.g. ``/api/process-instances/<instance_id>``, instead), headers (``Authorization``
above all) and exception messages longer than a short excerpt. A traceback goes to the server log
only; the client gets the JSON error shape of ``service/errors.py`` and the request id.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

REQUEST_ID_HEADER = "X-Request-Id"
ACCESS_LOGGER = "safeguard.access"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_EXC_MAX = 200  # characters of an exception message kept in the "exc" field

# The attributes every LogRecord has; anything else on a record came through ``extra=``.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)

access_log = logging.getLogger(ACCESS_LOGGER)


def request_id_from(header: str | None) -> str:
    """The caller's request id if it is a sane token, else a fresh one.

    A proxy or client may already have an id for this call; keeping it joins their logs to ours.
    Anything longer than 64 characters or outside ``[A-Za-z0-9._-]`` is replaced, so a header
    cannot inject JSON, newlines or a child's name into the log.
    """
    if header is not None and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being handled, or ``None`` outside a request (jobs, CLI)."""
    if has_request_context():
        return g.get("request_id")
    return None


def _route() -> str | None:
    """The URL rule template of this request (no identifiers), ``None`` when no route matched."""
    rule = request.url_rule
    return rule.rule if rule is not None else None


def request_fields() -> dict[str, object]:
    """What a log line says about the request being handled: never the path, query or body."""
    return {
        "request_id": g.get("request_id"),
        "method": request.method,
        "route": _route(),
        "user": _username(),
        "remote_addr": request.remote_addr,
    }


def _username() -> str | None:
    user = g.get("user")
    name = getattr(user, "username", None)
    return name if isinstance(name, str) else None


def _short_exception(exc: BaseException) -> str:
    """First line of the message, truncated; for database errors the driver's message only.

    SQLAlchemy's ``str(err)`` appends the statement and its bound parameters — which may be a
    child's name — so for those we keep the underlying driver message (``err.orig``).
    """
    inner = getattr(exc, "orig", None)
    text = str(inner if isinstance(inner, BaseException) else exc)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:_EXC_MAX] + ("…" if len(first) > _EXC_MAX else "")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line.

    Inside a request the request's fields (id, method, route, user, remote address) are added to
    every record, not just the access line, so a warning deep in the engine can be traced back to
    the call that caused it. Fields passed with ``extra={...}`` are included; values that are not
    JSON are written with ``str``.
    """

    def __init__(self, include_traceback: bool = True):
        super().__init__()
        self.include_traceback = include_traceback

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry.update(request_fields())
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            entry["exc_type"] = type(exc).__name__
            entry["exc"] = _short_exception(exc)
            if self.include_traceback:
                entry["traceback"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(entry, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is *now*.

    A plain ``StreamHandler(sys.stderr)`` keeps the stream it was built with; test runners and
    process managers swap ``sys.stderr``, after which it would write to a closed file.
    """

    _safeguard = True  # marks the handler this module installed, so a second app replaces it

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def install_handler(level: str | int = "INFO") -> logging.Handler:
    """Put one JSON handler on the root logger (replacing one installed earlier) and set the level.

    On the root logger so that the engine's, SQLAlchemy's and waitress's records come out in the
    same shape. Idempotent because tests build many apps in one process.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_safeguard", False)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    return handler


# APScheduler logs every wake-up and sweep of every worker at INFO ("Running job", "Added job"):
# the timers' own "timer fired" line says what happened.
QUIET_LOGGERS = ("spiff", "spiff.task", "spiff.workflow", "spiff.metrics", "apscheduler")


def init_app(app: Flask) -> None:
    """Request ids, one access-log line per request, and the JSON handler on stderr.

    Call it early in ``create_app`` — before other ``before_request`` hooks — so that a request
    refused by an earlier hook (access rules, bad input) still has its id and its access line.
    ``LOG_LEVEL`` (config, else environment, default ``INFO``) sets the root level.
    """
    app.config.setdefault("LOG_LEVEL", os.environ.get("LOG_LEVEL", "INFO"))
    install_handler(app.config["LOG_LEVEL"])
    # SpiffWorkflow logs every task state change at INFO: a dozen lines per step, which cost
    # as much CPU as the step itself and tell operations nothing. Its warnings still show.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(
            max(logging.WARNING, logging.getLevelName(app.config["LOG_LEVEL"].upper()))
        )

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.log_started = time.perf_counter()
        g.log_done = False

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = g.get("request_id") or request_id_from(None)
        g.request_id = request_id
        response.headers[REQUEST_ID_HEADER] = request_id
        _log_access(response.status_code)
        return response

    @app.teardown_request
    def log_if_not_logged(exc: BaseException | None) -> None:
        # after_request does not run when the response could not be built at all.
        if g.get("log_done") is False:
            _log_access(500, exc)


def _log_access(status: int, exc: BaseException | None = None) -> None:
    started = g.get("log_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
    g.log_done = True
    level = logging.ERROR if status >= 500 else logging.INFO
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    access_log.log(
        level,
        "request",
        # Explicit, not left to the formatter: a queued or test handler formats the record after
        # the request context is gone.
        extra={**request_fields(), "status": status, "duration_ms": duration_ms},
        exc_info=exc_info,
    )
