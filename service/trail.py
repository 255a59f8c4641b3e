"""Flask glue of the audit trail: one event per request, written with the request's outcome.

A change is audited inside its own transaction (just before the handler's commit), so a change
never lands without its event; the events this process has queued ride along in that INSERT.
Reads and refusals are queued once the response is decided (``pending.ReadQueue``) and
inserted in batches: no transaction, and on SQLite no write lock, per read.
"""

from __future__ import annotations

from flask import Flask, Response, g, request
from sqlalchemy import insert

from records.audit import Intent, append, row
from service.auth import current_user
from service.context import services, uow
from storage.models import AuditEvent

# Public routes that are audited anyway: signing in (success and failure), and setting a
# password through a reset link.
AUDITED_PUBLIC = frozenset({"pages.login", "auth.create_token", "sso.callback", "reset.reset"})
# An identity provider sends the browser back by GET: that GET is the sign-in.
SIGN_IN_BY_GET = frozenset({"sso.callback"})
NOT_AUDITED = frozenset({"auth.me", "static"})


def begin(app: Flask) -> None:
    """Called after access was granted (or for sign-in routes): open this request's intent."""
    endpoint = request.endpoint or ""
    rule = getattr(app.view_functions.get(endpoint), "access_rule", None)
    if endpoint in NOT_AUDITED or rule is None:
        return
    if rule.public and endpoint not in AUDITED_PUBLIC:
        return
    if rule.public and request.method == "GET" and endpoint not in SIGN_IN_BY_GET:
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
        _take_queued(unit, services().audit_queue)

    unit.before_commit(write)


def _take_queued(unit, queue) -> None:
    """Insert the queued read events in this write's transaction; back to the queue if it does
    not commit."""
    rows = queue.take()
    if not rows:
        return
    committed: list[bool] = []
    unit.on_close(lambda: None if committed else queue.give_back(rows))
    unit.on_commit(lambda: committed.append(True))
    unit.session.execute(insert(AuditEvent), rows)


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
    """Queue the event of a read or a refusal (changes were audited in their own transaction).

    Nothing of the request's own transaction rides along: the event is inserted by the next
    flush (``pending``), in a transaction of its own or of this process's next write.
    """
    intent = g.get("audit")
    if intent is None or intent.written:
        return response
    if intent.outcome is None:
        intent.outcome = "ok" if response.status_code < 400 else str(response.status_code)
    services().audit_queue.put(row(intent, services().clock.now()))
    intent.written = True
    return response


def flush(app: Flask) -> int:
    """Insert ``app``'s queued read events now; how many (tests, the auditor's reads)."""
    return app.extensions["safeguard"].audit_queue.flush()
