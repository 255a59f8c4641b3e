"""``/admin/agencies``: the registry of agencies people belong to, kept by administrators.

Why a page: agencies join a partnership, are renamed and leave it, and until now a user's agency
was whatever was typed. Codes are permanent (users and records name them); an agency is renamed
or retired, never deleted, and those the diagrams and the register use cannot be retired
(``service/agencies.py``). Every change is audited with the agency before and after.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service import trail
from service.access import access
from service.agencies import Invalid, add_agency, edit_agency, find_agency, registry, snapshot
from service.context import uow
from service.errors import ApiError
from service.openapi import HTML, spec
from storage.models import User
from workflows.rules import AGENCIES

bp = Blueprint("admin_agencies", __name__)
TEXT = {"type": "string"}
AGENCY_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": TEXT,
            "code": {**TEXT, "description": "new agencies only: lower-case letters, digits, _"},
            "label": TEXT,
            "active": {"enum": ["true", "false"], "description": "restore or retire"},
        },
    }
}


@bp.get("/admin/agencies")
@access("admin")
@spec("The registry of agencies (a page, administrators)", responses={200: HTML}, tag="pages")
def index():
    return _page()


@bp.post("/admin/agencies")
@access("admin")
@spec(
    "Add an agency to the registry (a page); redirects to the list",
    body=AGENCY_FORM,
    responses={302: None, 422: HTML},
    errors=(409, 422),
    tag="pages",
)
def create():
    unit = uow()
    code = request.form.get("code", "").strip()[:200]
    try:
        agency = add_agency(unit.session, code, request.form.get("label", "")[:1000])
    except Invalid as err:
        return _page(err.problems, request.form)
    trail.note(detail={"agency": code, "before": None, "after": snapshot(agency)})
    try:
        unit.commit()
    except IntegrityError:
        raise ApiError(409, "conflict", f"Someone added {code!r} at the same moment.") from None
    flash(f"Added the agency {agency.label} ({code}).")
    return redirect(url_for("admin_agencies.index"))


@bp.post("/admin/agencies/<code>")
@access("admin")
@spec(
    "Rename, retire or restore an agency (a page); redirects to the list",
    body=AGENCY_FORM,
    responses={302: None, 422: HTML},
    errors=(422,),
    tag="pages",
)
def update(code: str):
    unit = uow()
    agency = find_agency(unit.session, code)
    form = request.form
    active = {"true": True, "false": False}.get(form.get("active", ""))
    label = form["label"][:1000] if "label" in form else None
    try:
        before, after = edit_agency(unit.session, agency, label=label, active=active)
    except Invalid as err:
        unit.session.rollback()
        return _page(err.problems, form)
    trail.note(detail={"agency": agency.code, "before": before, "after": after})
    unit.commit()
    flash(f"Saved the agency {after['label']} ({after['code']}).")
    return redirect(url_for("admin_agencies.index"))


def _page(problems: dict | None = None, typed=None):
    session = uow().session
    members = dict(
        session.execute(
            select(User.agency, func.count()).where(User.active.is_(True)).group_by(User.agency)
        ).all()
    )
    page = render_template(
        "admin_agencies.html",
        agencies=registry(session),
        members=members,
        fixed=AGENCIES,
        problems=problems or {},
        typed=typed or {},
    )
    return page, 422 if problems else 200
