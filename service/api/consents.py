"""The consent register (api.md): list a child's consents, record one, withdraw one."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import Blueprint, jsonify, request
from pydantic import Field

from service.access import access, viewer
from service.api import shapes
from service.api.requests import body_of
from service.api.schemas import Model
from service.auth import current_user
from service.casework.consent_case import consents_of
from service.casework.desk import for_request
from service.casework.record_consent import record_consent as record
from service.casework.withdraw_consent import withdraw_consent
from service.context import uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import Consent
from workflows.roles import CASEWORK

bp = Blueprint("consents", __name__)
# The front door keeps the partnership's consent register (``CONSENT_KEEPERS``): it may read and
# record any child's consents. Everyone else needs need-to-know of the child - and recording or
# withdrawing a consent makes nobody a party to anything (service/casework/consent_case.py).
# On the wire (api.md) the child's identifier is ``child``, in the query and in the JSON: this
# module maps it to and from the business key, the name it has everywhere else.
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
        "child": row.business_key,
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


@bp.get("")
@access(*CASEWORK)
@spec(
    "A child's consents and whether one is in force",
    query=ConsentQuery,
    responses={200: ConsentPage},
    errors=(404,),
)
def list_consents():
    business_key = request.args.get("child", "")
    if not business_key or len(business_key) > 200:
        raise ApiError(400, "bad_request", "child is required.")
    rows, status = consents_of(for_request(), uow(), viewer(current_user()), business_key)
    return jsonify({"items": [_out(r) for r in rows], "status": status})


@bp.post("")
@access(*CASEWORK)
@spec("Record a consent", body=ConsentIn, responses={201: ConsentOut}, errors=(404,))
def record_consent():
    body = body_of(ConsentIn)
    unit = uow()
    row = record(
        for_request(),
        unit,
        viewer(current_user()),
        business_key=body["child"],
        person=body["person"],
        agencies=body.get("agencies"),
        purposes=body.get("purposes"),
        how=body["how"],
        notes=body.get("notes"),
    )
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
    row = withdraw_consent(for_request(), unit, viewer(current_user()), consent_id, body["reason"])
    unit.commit()
    return jsonify(_out(row))
