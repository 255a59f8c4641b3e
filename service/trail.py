"""Flask glue of the audit trail: one event per request, written with the request's outcome.

A change is audited inside its own transaction (just before the handler's commit), so a change
never lands without its event. Reads and refusals are audited after the response is decided, in
a transaction of their own.
"""

from __future__ import annotations

import random
import time

from flask import Flask, Response, g, request
from sqlalchemy.exc import OperationalError

from records.audit import Intent, append
from service.auth import current_user
from service.context import services, uow
from storage.database import is_write_conflict, read_only

_ATTEMPTS = 50

# Public routes that are audited anyway: signing in (success and failure).
AUDITED_PUBLIC = frozenset({"pages.login", "auth.create_token"})
NOT_AUDITED = frozenset({"auth.me", "static"})


def begin(app: Flask) -> None:
    """Called after access was granted (or for sign-in routes): open this request's intent."""
    endpoint = request.endpoint or ""
    rule = getattr(app.view_functions.get(endpoint), "access_rule", None)
    if endpoint in NOT_AUDITED or rule is None:
        return
    if rule.public and endpoint not in AUDITED_PUBLIC:
        return
    if rule.public and request.method == "GET":
        return  # showing the login form is not an event
    user = current_user()
    args = request.view_args or {}
    # A refused attempt has no case (telling would leak it); the URL's instance is kept.
    case_key, instance_id = g.get("case", (None, _id(args.get("instance_id"))))
    g.audit = Intent(
        action=endpoint,
        actor=user.username if user else None,
        remote_addr=request.remote_addr,
        case_key=case_key,
        instance_id=instance_id,
        task_id=_id(args.get("task_id")),
        detail={"method": request.method},
    )
    unit = uow()

    def write() -> None:
        intent = g.get("audit")
        if intent is not None and not intent.written:
            append(unit.session, intent, services().clock.now())

    unit.before_commit(write)


def _id(value: str | None) -> str | None:
    """Ids from a URL as far as the column holds them (a refused URL may carry anything)."""
    return value[:36] if value else None


def note(**fields) -> None:
    """Add what a handler learnt (the instance it started, who tried to sign in, the outcome)."""
    intent = g.get("audit")
    if intent is None:
        return
    detail = fields.pop("detail", None)
    for name, value in fields.items():
        setattr(intent, name, value)
    if detail:
        intent.detail.update(detail)


def finish(response: Response) -> Response:
    """Audit reads and refusals (changes were audited in their own transaction)."""
    intent = g.get("audit")
    if intent is None or intent.written:
        return response
    if intent.outcome is None:
        intent.outcome = "ok" if response.status_code < 400 else str(response.status_code)
    unit = uow()
    for attempt in range(_ATTEMPTS):
        unit.rollback()  # nothing uncommitted of the request may ride along with its audit event
        try:
            with read_only(False):  # SQLite: take the write lock up front, wait for our turn
                append(unit.session, intent, services().clock.now())
                unit.session.commit()
            return response
        except OperationalError as err:
            # SQLite: another writer committed since this transaction's snapshot. Try again;
            # if it never works the request fails (500) rather than go unrecorded.
            if not is_write_conflict(err) or attempt == _ATTEMPTS - 1:
                raise
            intent.written = False
            time.sleep(random.uniform(0.001, 0.02))
    return response
