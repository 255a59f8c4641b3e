"""Out-of-office (a page): I mark myself away for some days and name who covers my new steps.

Why on one's own account: only the person knows their leave; the period, the dates and the
cover are recorded and audited (``service/casework/mark_away.py``), so a manager and the
auditor can see who was given whose work and why. Work already held is not moved: the inbox
reassigns it if it cannot wait.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service.access import access
from service.auth import current_user
from service.casework import mark_away as marking
from service.casework.desk import for_request
from service.context import services, uow
from service.openapi import HTML, spec
from service.pages.work import CSRF_ONLY
from storage.models import User
from tasks import away
from workflows.errors import InvalidInput
from workflows.roles import CASEWORK

bp = Blueprint("away", __name__)
FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": {"type": "string"},
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"},
            "cover": {"type": "string"},
        },
    }
}


def _render(errors: dict | None = None, status: int = 200):
    session = uow().session
    person = session.get(User, current_user().id)
    today = away.day_of(services().clock.now())
    body = render_template(
        "account_away.html",
        periods=away.periods_of(session, person, today),
        colleagues=away.colleagues_who_may_cover(session, person),
        errors=errors or {},
        values=request.form if request.method == "POST" else {},
        today=today.isoformat(),
    )
    return body, status


@bp.get("/account/away")
@access(*CASEWORK)
@spec("When I am away and who covers my new steps (a page)", responses={200: HTML}, tag="pages")
def show():
    return _render()


def _day(field: str) -> date:
    try:
        return date.fromisoformat(request.form.get(field, "").strip()[:10])
    except ValueError:
        raise InvalidInput("Enter a date", field=field) from None


@bp.post("/account/away")
@access(*CASEWORK)
@spec(
    "Mark myself away, naming who covers my new steps (a page); redirects to the page",
    body=FORM,
    responses={302: None, 422: HTML},
    tag="pages",
)
def mark():
    unit = uow()
    try:
        starts_on, ends_on = _day("starts_on"), _day("ends_on")
        cover = request.form.get("cover", "").strip()[:80]
        marking.mark_away(for_request(), unit, current_user().id, starts_on, ends_on, cover)
    except InvalidInput as err:
        unit.rollback()
        return _render({err.field: str(err)}, 422)
    unit.commit()
    flash(f"Away from {starts_on:%d %b %Y} to {ends_on:%d %b %Y}: new steps go to {cover}")
    return redirect(url_for("away.show"))


@bp.post("/account/away/<period_id>/cancel")
@access(*CASEWORK)
@spec(
    "Call off one of my away periods (a page); redirects to the page",
    body=CSRF_ONLY,
    responses={302: None},
    tag="pages",
)
def cancel(period_id: str):
    unit = uow()
    marking.call_off(for_request(), unit, current_user().id, period_id[:36])
    unit.commit()
    flash("That period is called off: your new steps come to you again")
    return redirect(url_for("away.show"))
