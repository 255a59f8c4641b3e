"""The signed-in person's own sessions: where and when they are signed in, and ending them.

Why a page of its own: a session left open on a shared or lost device, or a token copied by
someone else, is ended by its owner here without waiting for an administrator
(docs/security.md, "Sessions"). Only one's own rows are listed or ended.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for

from service.access import access
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError
from service.openapi import HTML, spec
from service.pages.work import CSRF_ONLY
from service.sessions import Lifetimes, end_everything, end_one, live_for

bp = Blueprint("account", __name__)


@bp.get("/account/sessions")
@access(anyone=True)
@spec("Where I am signed in: sessions and tokens (a page)", responses={200: HTML}, tag="pages")
def sessions():
    user = current_user()
    now = services().clock.now()
    lifetimes = Lifetimes.from_config(current_app.config)
    rows = live_for(uow().session, user.id, now, lifetimes)
    current = user.session_id or user.token_id
    return render_template("account_sessions.html", rows=rows, current=current)


@bp.post("/account/sessions/<session_id>/end")
@access(anyone=True)
@spec(
    "End one of my sessions or tokens (a page); redirects to the list",
    body=CSRF_ONLY,
    responses={302: None},
    tag="pages",
)
def end(session_id: str):
    user = current_user()
    unit = uow()
    if not end_one(unit.session, user.id, session_id, services().clock.now()):
        raise ApiError(404, "not_found", f"no session {session_id} of yours is open")
    unit.commit()
    if session_id in (user.session_id, user.token_id):
        session.clear()
        return redirect(url_for("pages.login"))
    flash("That session is ended: it is signed out at its next request.")
    return redirect(url_for("account.sessions"))


@bp.post("/account/sessions/end-all")
@access(anyone=True)
@spec(
    "Sign out everywhere: every session and token of mine ends (a page)",
    body=CSRF_ONLY,
    responses={302: None},
    tag="pages",
)
def end_all():
    unit = uow()
    end_everything(unit.session, current_user().id, services().clock.now(), "signed out everywhere")
    unit.commit()
    session.clear()
    return redirect(url_for("pages.login"))
