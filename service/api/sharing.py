"""The information-sharing register: read it, and correct an entry by adding a new one.

There is deliberately no PUT, PATCH or DELETE: entries are append-only (see
``records.register``). The auditor (the partnership's data protection officer) reads the
whole register; casework roles read the entries of the cases they may see (need-to-know). The
Board reads none (its report is aggregate), and admins, who run the system, check the chain but
read no rows as admins (docs/security.md, "Records: who reads what").
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from records import register, sealing
from service import trail
from service.access import access, viewer
from service.api import shapes
from service.api.audit import ChainVerifyOut, chain_report
from service.api.requests import MAX_INT, body_of, is_whole_number, limit_arg
from service.api.schemas_records import CorrectionIn, SharingPage, SharingQuery, SharingRecordOut
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import ProcessInstance, SharingRecord
from tasks import parties
from workflows.roles import REGISTER_CORRECTORS, REGISTER_READERS

bp = Blueprint("sharing", __name__)
# Every casework role reads the entries of the cases it may see (need-to-know, ``_visible``): the
# practitioner who decided must be able to show what was recorded. The auditor reads them all.
READERS, CORRECTORS = REGISTER_READERS, REGISTER_CORRECTORS


# On the wire (api.md) an entry's business key is ``child``, in the query and in the JSON: the
# one place it is mapped to the model's ``business_key``.
WIRE_NAMES = {"child": "business_key"}  # a wire name -> its model attribute


def _out(row: SharingRecord) -> dict:
    fields = SharingRecordOut.model_fields
    body = {name: getattr(row, WIRE_NAMES.get(name, name)) for name in fields}
    body["decided_at"] = shapes.iso(row.decided_at)
    body["recorded_at"] = shapes.iso(row.recorded_at)
    body["recipients"] = [dict(r) for r in row.recipients or []]
    return body


def _visible(query):
    """Only the entries of cases the caller may see, unless they see everything."""
    who = viewer(current_user())
    if "auditor" in who.roles:
        return query
    # The entries of the instances the caller may see, not of the child's other processes.
    seen = select(ProcessInstance.id).where(
        ProcessInstance.id == SharingRecord.instance_id, parties.visible(who)
    )
    return query.where(seen.exists())


@bp.get("/sharing-records")
@access(*READERS, admin_passes=False)
@spec("The sharing register, oldest first", query=SharingQuery, responses={200: SharingPage})
def list_records():
    query = _visible(select(SharingRecord))
    if request.args.get("child"):
        query = query.where(SharingRecord.business_key == request.args["child"])
    decision = request.args.get("decision")
    if decision:
        if decision not in register.DECISIONS:
            raise ApiError(400, "bad_request", "decision must be share or not_share.")
        query = query.where(SharingRecord.decision == decision)
    if request.args.get("from"):
        query = query.where(SharingRecord.decided_at >= shapes.parse_iso(request.args["from"]))
    if request.args.get("to"):
        query = query.where(SharingRecord.decided_at < shapes.parse_iso(request.args["to"]))
    cursor = request.args.get("cursor")
    if cursor:
        if not (is_whole_number(cursor) and len(cursor) <= 12):
            raise ApiError(400, "bad_request", "cursor is not valid.")
        query = query.where(SharingRecord.id > min(int(cursor), MAX_INT))
    limit = limit_arg()
    rows = list(uow().session.scalars(query.order_by(SharingRecord.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(
        {"items": [_out(r) for r in rows], "next_cursor": str(rows[-1].id) if more else None}
    )


@bp.post("/sharing-records/<int:record_id>/corrections")
@access(*CORRECTORS)
@spec(
    "Correct a register entry: a new entry that references it",
    body=CorrectionIn,
    responses={201: SharingRecordOut},
)
def correct(record_id: int):
    body = body_of(CorrectionIn)
    if record_id > MAX_INT:
        raise ApiError(404, "not_found", "No such register entry.")
    unit = uow()
    query = _visible(select(SharingRecord).where(SharingRecord.id == record_id))
    original = unit.session.scalars(query).first()
    if original is None:
        raise ApiError(404, "not_found", "No such register entry.")
    entry = {**body, "instance_id": original.instance_id}
    try:
        row = register.record(
            unit.session,
            entry,
            instance_id=None,
            decided_by=current_user().username,
            now=services().clock.now(),
            business_key=original.business_key,
            corrects=original.id,
        )
    except register.RegisterError as err:
        message = "The correction cannot be recorded."
        raise ApiError(422, "invalid_input", message, err.problems) from None
    trail.note(
        instance_id=original.instance_id,
        case_key=parties.case_key(original.business_key, original.instance_id),
        detail={"corrects": original.id, "record": row.id},
    )
    unit.commit()
    return jsonify(_out(row)), 201


@bp.get("/sharing-records/verify")
@access("auditor", "admin")
@spec(
    "Recompute the sharing register's hash chain, check it against the published heads and "
    "that no entry stays unsealed for long",
    responses={200: ChainVerifyOut},
)
def verify_register():
    return jsonify(chain_report(sealing.REGISTER))
