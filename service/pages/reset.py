"""``/reset/<token>``: the person an administrator sent a one-time link chooses a new password.

Public (the person cannot sign in: that is why they have the link), so the token is the only
credential: 256 random bits, kept as a hash, spent by the first use, past its time after
``PASSWORD_RESET_HOURS``, and worthless for a disabled account (``service/password_reset.py``).
Setting the password ends every session and token of theirs. The use is audited under their
name; the token is in no event and no log line (the logs name routes, never paths).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service import password_reset, trail
from service.access import access
from service.agencies import Invalid
from service.context import services, uow
from service.openapi import HTML, spec

bp = Blueprint("reset", __name__)
RESET_PASSWORD_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": {"type": "string"},
            "password": {"type": "string"},
            "confirm": {"type": "string"},
        },
    }
}


@bp.route("/reset/<token>", methods=["GET", "POST"])
@access(public=True)
@spec(
    "Choose a new password through a one-time link (a page); POST redirects to sign in",
    body=RESET_PASSWORD_FORM,
    responses={200: HTML, 302: None, 410: HTML, 422: HTML},
    errors=(409, 410, 422),
    tag="pages",
)
def reset(token: str):
    unit = uow()
    now = services().clock.now()
    person = password_reset.holder(unit.session, token, now)
    if request.method == "GET":
        return _page(person.username)
    trail.note(actor=person.username)
    password = request.form.get("password", "")[:2000]
    if password != request.form.get("confirm", "")[:2000]:
        return _page(person.username, {"confirm": "the two passwords are not the same"})
    try:
        password_reset.redeem(unit.session, services().clock, token, password)
    except Invalid as err:
        return _page(person.username, err.problems)
    unit.commit()
    flash("Your new password is set. Sign in with it.")
    return redirect(url_for("pages.login"))


def _page(username: str, problems: dict | None = None):
    page = render_template("reset.html", username=username, problems=problems or {})
    return page, 422 if problems else 200
