"""The consent register of one child as a page: its consents, recording one, withdrawing one.

The same use cases as the API (``service/casework``: ``consents_of``, ``record_consent``,
``withdraw_consent``) and so the same rules: the front door keeps the register and may read and
record any child's consents, everyone else needs need-to-know of the child, and a child one may
not see is a 404 exactly like one with no case. The page only turns form strings into the use
cases' arguments, and a refused field into an error beside it.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from records.vocabulary import AGENCIES
from service.access import access, viewer
from service.auth import current_user
from service.casework.consent_case import consents_of
from service.casework.desk import for_request
from service.casework.record_consent import HOW
from service.casework.record_consent import record_consent as record
from service.casework.withdraw_consent import withdraw_consent
from service.context import uow
from service.errors import ApiError
from service.openapi import HTML, spec
from workflows.errors import Conflict
from workflows.roles import CASEWORK

bp = Blueprint("consents_page", __name__)
TEXT = {"type": "string"}
RECORD_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": TEXT,
            "person": TEXT,
            "agencies": {"type": "array", "items": TEXT},
            "purposes": {"type": "string", "description": "one purpose a line"},
            "how": {"type": "string", "enum": list(HOW)},
            "notes": TEXT,
        },
    }
}
WITHDRAW_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {"csrf_token": TEXT, "reason": TEXT},
    }
}


def _page(
    business_key: str,
    *,
    values: dict | None = None,
    errors: dict[str, str] | None = None,
    withdrawing: dict | None = None,
    message: str | None = None,
    status: int = 200,
):
    rows, in_force = consents_of(for_request(), uow(), viewer(current_user()), business_key)
    body = render_template(
        "consents.html",
        user=current_user(),
        key=business_key,
        consents=rows,
        status=in_force,
        agencies=AGENCIES,
        how=HOW,
        values=values or {"agencies": []},
        errors=errors or {},
        withdrawing=withdrawing or {},
        message=message,
    )
    return body, status


def _refused(err: ApiError) -> dict[str, str]:
    """Field -> what is wrong with it, from a use case's 422 (anything else is not ours)."""
    if err.status != 422:
        raise err
    return {item["field"]: item["message"] for item in err.details if item.get("field")}


@bp.get("/children/<business_key>/consents")
@access(*CASEWORK)
@spec(
    "A child's consents: scope, who recorded them and how, their withdrawals (a page)",
    responses={200: HTML, 302: None},
    errors=(404,),
    tag="pages",
)
def consents(business_key: str):
    return _page(business_key)


@bp.post("/children/<business_key>/consents")
@access(*CASEWORK)
@spec(
    "Record a consent from the page's form; redirects to the child's consents",
    body=RECORD_FORM,
    responses={302: None, 422: HTML},
    errors=(404,),
    tag="pages",
)
def record_consent(business_key: str):
    form = request.form
    values = {
        "person": form.get("person", ""),
        "agencies": form.getlist("agencies"),
        "purposes": form.get("purposes", ""),
        "how": form.get("how", ""),
        "notes": form.get("notes", ""),
    }
    purposes = [line.strip() for line in values["purposes"].splitlines() if line.strip()]
    unit = uow()
    try:
        record(
            for_request(),
            unit,
            viewer(current_user()),
            business_key=business_key,
            person=values["person"],
            agencies=values["agencies"],
            purposes=purposes,
            how=values["how"],
            notes=values["notes"],
        )
    except ApiError as err:
        errors = _refused(err)
        unit.rollback()
        return _page(business_key, values=values, errors=errors, status=422)
    unit.commit()
    flash("Consent recorded")
    return redirect(url_for(".consents", business_key=business_key))


@bp.post("/children/<business_key>/consents/<consent_id>/withdraw")
@access(*CASEWORK)
@spec(
    "Withdraw a consent, with the reason, from the page; redirects to the child's consents",
    body=WITHDRAW_FORM,
    responses={302: None, 409: HTML, 422: HTML},
    errors=(404,),
    tag="pages",
)
def withdraw(business_key: str, consent_id: str):
    reason = request.form.get("reason", "")
    unit = uow()
    try:
        withdraw_consent(
            for_request(),
            unit,
            viewer(current_user()),
            consent_id,
            reason,
            business_key=business_key,
        )
    except ApiError as err:
        errors = _refused(err)
        unit.rollback()
        shown = {"id": consent_id, "reason": reason, "error": errors.get("reason", "")}
        return _page(business_key, withdrawing=shown, status=422)
    except Conflict as err:
        unit.rollback()
        return _page(business_key, message=str(err), status=409)
    unit.commit()
    flash("Consent withdrawn")
    return redirect(
        url_for(".consents", business_key=business_key, _anchor=f"consent-{consent_id}")
    )
