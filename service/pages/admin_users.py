"""``/admin/users``: administrators list, add, edit, disable and re-enable people, and issue
one-time password reset links (copied, or emailed through ``SMTP_URL``).

Why pages over the same functions as the command line (``service/users.py``,
``service/password_reset.py``): a role, an agency or a manager is refused with the same words
wherever it is typed. Roles come from ``workflows/roles.py``, agencies from the registry
(``/admin/agencies``), managers from active users of the chosen agency. Every change is audited
with the person's state before and after (never a password or a link), and an edit drawn from a
state someone else has changed since is 409, not a silent overwrite.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service import password_reset, trail
from service.access import access
from service.agencies import Invalid, active_codes, registry
from service.auth import current_user
from service.context import services, uow
from service.errors import ApiError
from service.openapi import HTML, spec
from service.pages.work import CSRF_ONLY
from service.reminders import mailer
from service.users import (
    Details,
    add_user,
    disable_user,
    edit_user,
    enable_user,
    fingerprint,
    snapshot,
)
from storage.models import User
from workflows.roles import ROLE_LABELS, ROLES

bp = Blueprint("admin_users", __name__)
TEXT = {"type": "string"}
USER_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "csrf_token": TEXT,
            "username": {**TEXT, "description": "new users only"},
            "display_name": TEXT,
            "roles": {"type": "array", "items": {"enum": list(ROLES)}},
            "agency": {**TEXT, "description": "a code of the registry (/admin/agencies)"},
            "manager": {**TEXT, "description": "a username of the same agency"},
            "email": TEXT,
            "seen": {**TEXT, "description": "the state the edit form was drawn from"},
        },
    }
}
RESET_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {"csrf_token": TEXT, "delivery": {"enum": ["copy", "email"]}},
    }
}


@bp.get("/admin/users")
@access("admin")
@spec("People: list of users (a page, administrators)", responses={200: HTML}, tag="pages")
def index():
    session = uow().session
    users = session.scalars(select(User).order_by(User.username)).all()
    names = {u.id: u.username for u in users}
    known = {a.code for a in registry(session)}
    return render_template(
        "admin_users.html", users=users, managers=names, known=known, role_labels=ROLE_LABELS
    )


@bp.get("/admin/users/new")
@access("admin")
@spec("The form to add a user (a page, administrators)", responses={200: HTML}, tag="pages")
def new():
    return _form(None, {"roles": [], "agency": "", "manager": ""})


@bp.post("/admin/users")
@access("admin")
@spec(
    "Add a user (a page); redirects to their page, where a reset link sets their password",
    body=USER_FORM,
    responses={302: None, 422: HTML},
    errors=(409, 422),
    tag="pages",
)
def create():
    unit = uow()
    username = request.form.get("username", "").strip()[:200]
    try:
        user = add_user(unit.session, services().clock, username, _details(), password=None)
    except Invalid as err:
        return _form(None, _typed(), err.problems)
    trail.note(detail={"username": username, "before": None, "after": snapshot(unit.session, user)})
    _commit(f"someone added a user called {username!r} at the same moment")
    flash(f"Added {username}. Issue a reset link below so they can choose a password.")
    return redirect(url_for("admin_users.edit", username=username))


@bp.get("/admin/users/<username>")
@access("admin")
@spec("One user: edit, disable, reset link (a page)", responses={200: HTML}, tag="pages")
def edit(username: str):
    user = _user(username)
    state = snapshot(uow().session, user)
    return _form(user, {**state, "seen": fingerprint(state)})


@bp.post("/admin/users/<username>")
@access("admin")
@spec(
    "Change a user's name, roles, agency, manager or email (a page); their sessions end if "
    "their roles or agency change",
    body=USER_FORM,
    responses={302: None, 422: HTML},
    errors=(409, 422),
    tag="pages",
)
def update(username: str):
    unit = uow()
    user = _fresh(username)
    details = _details()
    try:
        if current_user().id == user.id and "admin" not in details.roles:
            raise Invalid({"roles": "you cannot take the admin role from yourself"})
        before, ended = edit_user(unit.session, services().clock, user, details)
    except Invalid as err:
        return _form(user, {**_typed(), "seen": request.form.get("seen", "")}, err.problems)
    after = snapshot(unit.session, user)
    trail.note(detail={"username": username, "before": before, "after": after})
    _commit("someone else changed this user at the same moment; reload and try again")
    ended_text = f" {ended} sessions and tokens of theirs ended." if ended else ""
    flash(f"Saved {username}.{ended_text}")
    return redirect(url_for("admin_users.edit", username=username))


@bp.post("/admin/users/<username>/disable")
@access("admin")
@spec(
    "Disable a user: they cannot sign in and their sessions end now (a page)",
    body=CSRF_ONLY,
    responses={302: None},
    errors=(409, 422),
    tag="pages",
)
def disable(username: str):
    if username == current_user().username:
        raise ApiError(422, "invalid_input", "You cannot disable yourself.", [{"field": "user"}])
    ended = _switch(username, lambda db, user: disable_user(db, services().clock, user))
    flash(f"Disabled {username}: {ended} sessions and tokens of theirs ended.")
    return redirect(url_for("admin_users.edit", username=username))


@bp.post("/admin/users/<username>/enable")
@access("admin")
@spec(
    "Let a disabled user sign in again (a page)", body=CSRF_ONLY, responses={302: None}, tag="pages"
)
def enable(username: str):
    _switch(username, lambda db, user: enable_user(user))
    flash(f"{username} may sign in again.")
    return redirect(url_for("admin_users.edit", username=username))


def _switch(username: str, change):
    """Disable or enable, audited with the state before and after; ``change``'s result."""
    unit = uow()
    user = _fresh(username)
    before = snapshot(unit.session, user)
    result = change(unit.session, user)
    after = snapshot(unit.session, user)
    trail.note(detail={"username": username, "before": before, "after": after})
    _commit("someone else changed this user at the same moment")
    return result


@bp.post("/admin/users/<username>/reset-link")
@access("admin")
@spec(
    "Issue a one-time password reset link: shown once to copy, or emailed (a page)",
    body=RESET_FORM,
    responses={200: HTML, 302: None},
    errors=(422,),
    tag="pages",
)
def reset_link(username: str):
    unit = uow()
    user = _fresh(username)
    delivery = request.form.get("delivery", "copy")
    mail = mailer(current_app)
    problem = _undeliverable(user, delivery, mail)
    if problem:
        raise ApiError(422, "invalid_input", problem, [{"field": "delivery", "message": problem}])
    hours = int(current_app.config["PASSWORD_RESET_HOURS"])
    by = current_user().username
    issued = password_reset.issue(unit.session, services().clock, user, timedelta(hours=hours), by)
    expires = issued.expires_at.isoformat()
    trail.note(
        detail={"username": username, "reset_link": {"delivery": delivery, "expires_at": expires}}
    )
    unit.commit()
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("reset.reset", token=issued.token)
    unsent = None
    if delivery == "email":
        try:
            password_reset.email(mail, user, link, issued.expires_at)
        except OSError as err:  # smtplib's errors are OSErrors: the link still works
            current_app.logger.warning("could not email a reset link: %s", type(err).__name__)
            unsent = user.email
        else:
            flash(f"A reset link was emailed to {user.email}; it works once, for {hours} hours.")
            return redirect(url_for("admin_users.edit", username=username))
    # Shown once, in this answer (never in a URL or a flash); every page is sent ``no-store``.
    return render_template(
        "admin_reset_link.html", person=user, link=link, issued=issued, unsent=unsent
    )


def _undeliverable(user: User, delivery: str, mail) -> str | None:
    if delivery not in ("copy", "email"):
        return "delivery must be copy or email"
    if not user.active:
        return f"{user.username} is disabled: enable them first"
    if delivery == "email" and not user.email:
        return f"{user.username} has no email address"
    if delivery == "email" and not getattr(mail, "enabled", True):
        return "email is not set up (SMTP_URL): copy the link instead"
    return None


def _user(username: str) -> User:
    user = uow().session.scalar(select(User).where(User.username == username[:80]))
    if user is None:
        raise ApiError(404, "not_found", f"no user called {username[:80]!r}")
    return user


def _fresh(username: str) -> User:
    """The user to change, locked for this transaction where the database can; 409 if the form
    was drawn from a state that has changed since."""
    user = uow().session.scalar(
        select(User).where(User.username == username[:80]).with_for_update()
    )
    if user is None:
        raise ApiError(404, "not_found", f"no user called {username[:80]!r}")
    seen = request.form.get("seen")
    if seen and seen != fingerprint(snapshot(uow().session, user)):
        raise ApiError(409, "conflict", "Someone else changed this user since you opened it.")
    return user


def _commit(raced: str) -> None:
    try:
        uow().commit()
    except IntegrityError:
        raise ApiError(409, "conflict", raced.capitalize() + ".") from None


def _details() -> Details:
    form = request.form
    return Details(
        display_name=form.get("display_name", "").strip()[:1000] or form.get("username", ""),
        roles=tuple(r[:80] for r in form.getlist("roles")),
        agency=form.get("agency", "").strip()[:200] or None,
        manager=form.get("manager", "").strip()[:200] or None,
        email=form.get("email", "").strip()[:1000] or None,
    )


def _typed() -> dict:
    """What was typed, to show again beside the problems."""
    details = _details()
    return {
        "username": request.form.get("username", "")[:200],
        "display_name": details.display_name,
        "roles": list(details.roles),
        "agency": details.agency or "",
        "manager": details.manager or "",
        "email": details.email or "",
    }


def _form(user: User | None, values: dict, problems: dict | None = None):
    session = uow().session
    candidates = session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.agency, User.username)
    ).all()
    page = render_template(
        "admin_user.html",
        person=user,
        values=values,
        problems=problems or {},
        roles=ROLES,
        role_labels=ROLE_LABELS,
        agencies=[a for a in registry(session) if a.active or a.code == values.get("agency")],
        active=set(active_codes(session)),
        managers=[m for m in candidates if user is None or m.id != user.id],
        reset_hours=current_app.config["PASSWORD_RESET_HOURS"],
        can_email=getattr(mailer(current_app), "enabled", True),
    )
    return page, 422 if problems else 200
