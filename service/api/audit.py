"""The audit trail for the auditor (the partnership's data protection officer): its events, and
a check of the hash chain, which admins may run too (they answer for the system's integrity but
do not read who looked at what: docs/security.md, "Records: who reads what")."""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint, current_app, jsonify, request
from pydantic import Field
from sqlalchemy import select

from records import sealing
from service import trail
from service.access import access
from service.api import shapes
from service.api.requests import limit_arg
from service.api.schemas import Model
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import AuditEvent

bp = Blueprint("audit", __name__)


class AuditQuery(Model):
    instance_id: str | None = None
    user: str | None = None
    case: str | None = None
    from_: str | None = Field(None, alias="from", description="ISO 8601 with offset")
    to: str | None = Field(None, description="ISO 8601 with offset")
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, Field(pattern=r"^[0-9]{1,12}$")] | None = None


class AuditEventOut(Model):
    id: int = Field(description="Position in the trail (cursor); the chain's seq once sealed")
    seq: int | None = Field(description="Place in the hash chain; null until sealed")
    at: str
    actor: str | None
    action: str
    outcome: str
    case_key: str | None
    instance_id: str | None
    task_id: str | None
    detail: dict | None
    remote_addr: str | None
    prev_hash: str | None
    hash: str | None
    sealed_at: str | None = Field(description="When the sealer chained it; null until then")


class AuditPage(Model):
    items: list[AuditEventOut]
    next_cursor: str | None


class BrokenLink(Model):
    seq: int | None
    reason: str | None


class LateRows(Model):
    count: int
    oldest_at: str


class VerifyOut(Model):
    ok: bool
    checked: int
    broken_at: BrokenLink | None = None


class ChainVerifyOut(VerifyOut):
    """A sealed chain's check: the audit trail's events or the sharing register's entries."""

    unsealed: int = Field(description="Rows not sealed yet (recorded, not chained)")
    heads_file: bool = Field(description="Checked against the heads published outside the DB")
    late: LateRows | None = Field(
        None, description="Rows unsealed for longer than AUDIT_SEAL_BOUND_SECONDS (not ok)"
    )


def _event(row: AuditEvent) -> dict:
    return {
        "id": row.id,
        "seq": row.seq,
        "at": shapes.iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "outcome": row.outcome,
        "case_key": row.case_key,
        "instance_id": row.instance_id,
        "task_id": row.task_id,
        "detail": row.detail,
        "remote_addr": row.remote_addr,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
        "sealed_at": shapes.iso(row.sealed_at) if row.sealed_at else None,
    }


@bp.get("/audit")
@access("auditor", admin_passes=False)
@spec("Audit events, oldest first", query=AuditQuery, responses={200: AuditPage})
def list_events():
    # This process's queued reads first, so the auditor sees them at once (other processes
    # insert theirs within AUDIT_FLUSH_SECONDS).
    if trail.flush(current_app):
        uow().session.rollback()  # SQLite: read in a snapshot taken after the flush
    query = select(AuditEvent)
    for arg, column in (
        ("instance_id", AuditEvent.instance_id),
        ("user", AuditEvent.actor),
        ("case", AuditEvent.case_key),
    ):
        if request.args.get(arg):
            query = query.where(column == request.args[arg])
    if request.args.get("from"):
        query = query.where(AuditEvent.at >= shapes.parse_iso(request.args["from"]))
    if request.args.get("to"):
        query = query.where(AuditEvent.at < shapes.parse_iso(request.args["to"]))
    cursor = request.args.get("cursor")
    if cursor:
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 12):
            raise ApiError(400, "bad_request", "cursor is not valid.")
        query = query.where(AuditEvent.id > int(cursor))
    limit = limit_arg()
    rows = list(uow().session.scalars(query.order_by(AuditEvent.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = str(rows[-1].id) if more else None
    return jsonify({"items": [_event(r) for r in rows], "next_cursor": next_cursor})


@bp.get("/audit/verify")
@access("auditor", "admin")
@spec(
    "Recompute the audit hash chain, check it against the published heads and that no event "
    "stays unsealed for long",
    responses={200: ChainVerifyOut},
)
def verify_chain():
    return jsonify(chain_report(sealing.AUDIT))


def chain_report(chain: sealing.Chain) -> dict:
    """``chain`` checked with the service's bound and heads file (the register's route too)."""
    config = current_app.config
    return sealing.check(
        uow().session,
        services().clock.now(),
        float(config["AUDIT_SEAL_BOUND_SECONDS"]),
        config["AUDIT_HEADS_FILE"],
        chain,
    )
