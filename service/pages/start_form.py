"""The start page's form: the child's identifier and, the first time, the child's details.

The route is ``work.start`` (service/pages/work.py); this is its body. The details (name, date
of birth, one identifier) are asked for once per child: when the form already knows the child
(``?business_key=`` from the case page) and the starter may see the case and its record, the
fields give way to the recorded name. Otherwise they are shown, optional, and a start for a
child who has a record keeps that record (records/children.py): the starter is told so.
"""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from records import children
from service.access import viewer
from service.auth import current_user
from service.casework.desk import for_request
from service.casework.start import REQUEST_KEY, start_process
from service.context import uow
from service.errors import ApiError
from storage.models import ProcessDefinition, Task
from tasks import parties
from workflows.errors import Conflict

FIELDS = ("business_key", *children.FIELDS)
START_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": {"type": "string"},
            "request_key": {"type": "string"},
            **{name: {"type": "string"} for name in FIELDS},
        },
    }
}


def _definition(process_key: str) -> ProcessDefinition:
    found = (
        uow()
        .session.scalars(
            select(ProcessDefinition)
            .where(ProcessDefinition.key == process_key)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        .first()
    )
    if found is None:
        raise ApiError(404, "not_found", f"process {process_key} is not deployed")
    return found


def _known_record(business_key: str):
    """The child's record when the starter may already see the child's case; otherwise None,
    whether or not there is one (the form must not tell a stranger the child is known)."""
    if not business_key or len(business_key) > 200:
        return None
    session = uow().session
    if not parties.can_see_case(session, viewer(current_user()), business_key):
        return None
    return children.find(session, business_key)


def _form(definition, key: str, values: dict, errors: dict, message: str | None = None):
    recorded = _known_record(values.get("business_key", ""))
    return render_template(
        "start.html",
        definition=definition,
        key=key,
        values=values,
        errors=errors,
        message=message,
        recorded=recorded,
    )


def handle(process_key: str):
    """GET: the form. POST: start, and go to the first step (or back to the form, 422/409)."""
    definition = _definition(process_key)
    # A key for this filling-in of the form: pressing Start twice (or again after a lost
    # answer) gets the case the first press started, not a second one for the child.
    request_key = request.form.get("request_key", "")
    if not REQUEST_KEY.match(request_key):
        request_key = uuid.uuid4().hex
    if request.method == "GET":
        asked = request.args.get("business_key", "").strip()[:200]
        return _form(definition, request_key, {"business_key": asked}, {})
    values = {name: request.form.get(name, "").strip()[:200] for name in FIELDS}
    business_key = values["business_key"]
    if not business_key:
        missing = {"business_key": "Enter the child's identifier"}
        return _form(definition, request_key, values, missing), 422
    details = {name: values[name] for name in children.FIELDS if values[name]}
    unit = uow()
    kept = bool(details) and children.find(unit.session, business_key) is not None
    try:
        instance_id, replayed = start_process(
            for_request(),
            unit,
            viewer(current_user()),
            process_key,
            business_key,
            request_key=request_key,
            child_record=details or None,
        )
    except ApiError as err:
        if err.status != 422:
            raise
        unit.rollback()
        problems = {d["field"].removeprefix("child_record."): d["message"] for d in err.details}
        message = None if problems else err.message
        return _form(definition, request_key, values, _sentences(problems), message), 422
    except Conflict as err:
        unit.rollback()
        return _form(definition, request_key, values, {}, str(err)), 409
    first = unit.session.scalars(
        select(Task.id)
        .where(Task.instance_id == instance_id, Task.status == "open")
        .order_by(Task.created_at, Task.id)
        .limit(1)
    ).first()
    unit.commit()
    flash(f"{'Already started' if replayed else 'Started'} {definition.name or process_key}")
    if kept and not replayed:
        flash("This child's details were recorded before: the recorded ones are kept.")
    if first is None:
        return redirect(url_for("work.home"))
    return redirect(url_for("work.task", task_id=first))


LABELS = {
    "business_key": "The child's identifier",
    "display_name": "The child's name",
    "date_of_birth": "Date of birth",
    "nhs_number": "NHS number",
    "la_person_id": "Local authority person id",
    "child_record": "The child's details",
}


def _sentences(problems: dict[str, str]) -> dict[str, str]:
    """``is required`` beside a field reads as "NHS number: must be 10 digits ..."."""
    return {field: f"{LABELS.get(field, field)} {message}" for field, message in problems.items()}
