"""The consent register (api.md): list a child's consents, record one, withdraw one."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, jsonify, request
from pydantic import Field

from records import consent as register
from service import trail
from service.access import access, viewer
from service.api import shapes
from service.api.requests import body_of
from service.api.schemas import Model
from service.auth import current_user
from service.context import after_advance, services, uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import Consent
from tasks import parties

bp = Blueprint("consents", __name__)
CASEWORK = ("practitioner", "manager", "dsl", "csc", "csc_manager")
# The front door (children's social care and its managers) keeps the partnership's consent
# register: it may read and record any child's consents. Everyone else needs need-to-know of
# the child - and recording or withdrawing a consent makes nobody a party to anything.
KEEPERS = frozenset({"csc", "csc_manager"})
Short = Annotated[str, Field(min_length=1, max_length=200)]


class ConsentQuery(Model):
    child: Short


class ConsentIn(Model):
    child: Short
    person: Short = Field(description='"child", or the family member who gave consent')
    agencies: list[Short] = Field(min_length=1)
    purposes: list[Short] = Field(min_length=1)
    how: Short = Field(description="verbal, written or electronic")
    notes: Annotated[str, Field(max_length=4000)] | None = None


class WithdrawIn(Model):
    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class ConsentOut(Model):
    id: str
    child: str
    person: str
    agencies: list[str]
    purposes: list[str]
    how: str
    notes: str | None
    recorded_by: str
    recorded_at: str
    withdrawn_at: str | None
    withdrawn_by: str | None
    withdrawal_reason: str | None
    in_force: bool


class ConsentPage(Model):
    items: list[ConsentOut]
    status: Literal["given", "withdrawn", "none"]


def _out(row: Consent) -> dict:
    return {
        "id": row.id,
        "child": row.child,
        "person": row.person,
        "agencies": list(row.agencies),
        "purposes": list(row.purposes),
        "how": row.how,
        "notes": row.notes,
        "recorded_by": row.recorded_by,
        "recorded_at": shapes.iso(row.recorded_at),
        "withdrawn_at": shapes.iso(row.withdrawn_at),
        "withdrawn_by": row.withdrawn_by,
        "withdrawal_reason": row.withdrawal_reason,
        "in_force": row.withdrawn_at is None,
    }


def _require_case(child: str) -> None:
    """Need-to-know of the child named in the query or body, unless the caller keeps the
    register (404 like a missing case)."""
    user = current_user()
    if user.roles & KEEPERS:
        trail.note(case_key=child)
        return
    if not parties.can_see_case(uow().session, viewer(user), child):
        raise ApiError(404, "not_found", f"case {child} does not exist")
    trail.note(case_key=child)


def _list_strings(body: dict, name: str) -> list[str]:
    value = body.get(name)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() and len(v) <= 200 for v in value)
    ):
        raise ApiError(
            422,
            "invalid_input",
            "Some fields are not valid.",
            [{"field": name, "message": "must be a non-empty list of short strings"}],
        )
    return value


@bp.get("")
@access(*CASEWORK)
@spec(
    "A child's consents and whether one is in force",
    query=ConsentQuery,
    responses={200: ConsentPage},
    errors=(404,),
)
def list_consents():
    child = request.args.get("child", "")
    if not child or len(child) > 200:
        raise ApiError(400, "bad_request", "child is required.")
    _require_case(child)
    rows = register.for_child(uow().session, child)
    status = register.status(uow().session, child)
    return jsonify({"items": [_out(r) for r in rows], "status": status})


@bp.post("")
@access(*CASEWORK)
@spec("Record a consent", body=ConsentIn, responses={201: ConsentOut}, errors=(404,))
def record_consent():
    body = body_of(ConsentIn)
    _require_case(body["child"])
    agencies, purposes = _list_strings(body, "agencies"), _list_strings(body, "purposes")
    if body["how"] not in ("verbal", "written", "electronic"):
        raise ApiError(
            422,
            "invalid_input",
            "Some fields are not valid.",
            [{"field": "how", "message": "must be verbal, written or electronic"}],
        )
    unit = uow()
    user = current_user()
    now = services().clock.now()
    row = register.record(
        unit.session,
        child=body["child"],
        person=body["person"],
        agencies=agencies,
        purposes=purposes,
        how=body["how"],
        notes=body.get("notes"),
        by=user.username,
        now=now,
    )
    trail.note(case_key=body["child"], detail={"consent_id": row.id})
    unit.commit()
    return jsonify(_out(row)), 201


@bp.post("/<consent_id>/withdraw")
@access(*CASEWORK)
@spec(
    "Record that a consent was withdrawn",
    body=WithdrawIn,
    responses={200: ConsentOut},
    errors=(409,),
)
def withdraw(consent_id: str):
    body = body_of(WithdrawIn)
    unit = uow()
    row = unit.session.get(Consent, consent_id)
    if row is None:
        raise ApiError(404, "not_found", f"consent {consent_id} does not exist")
    _require_case(row.child)
    user = current_user()
    row, advances = register.withdraw(
        services().engine,
        unit,
        consent_id,
        by=user.username,
        reason=body["reason"],
        now=services().clock.now(),
    )
    for advance in advances:
        after_advance(unit, advance)
    trail.note(detail={"consent_id": row.id, "instances_told": len(advances)})
    unit.commit()
    return jsonify(_out(row))
