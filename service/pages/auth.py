"""The login form and signing out, for people using a browser."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from service import oidc
from service.access import access, records_only
from service.auth import current_user, end_session, start_session
from service.casework.desk import for_request
from service.casework.sign_in import sign_in
from service.context import services, uow
from service.errors import ApiError
from service.openapi import HTML, spec
from workflows.roles import CASEWORK_ROLES, PROCESS_OWNERS

bp = Blueprint("pages", __name__)

# The "New" menu: what a practitioner may start, in their words (api.md, "Web pages").
NEW_PROCESSES = (
    ("information_sharing", "Should I share?"),
    ("early_help_caf", "Early help"),
    ("referral", "Refer to children's social care"),
    ("escalation", "Raise a disagreement"),
)
# Who may start something: the casework roles, and administrators.
STARTERS = frozenset({*CASEWORK_ROLES, "admin"})


@bp.app_context_processor
def signed_in() -> dict:
    """Every page knows who is signed in (the header), what they may start and whether they may
    open the modeller (the role lists of ``workflows/roles.py``, never written in a template)."""
    user = current_user()
    can_start = user is not None and bool(user.roles & STARTERS)
    may_model = user is not None and bool(set(user.roles) & set(PROCESS_OWNERS))
    return {
        "user": user,
        "new_processes": NEW_PROCESSES if can_start else (),
        "may_model": may_model,
        # My cases is casework (``@access()``): the Board and the auditor have none.
        "has_cases": user is not None and not records_only(user.roles),
    }


UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_next(target: str | None) -> str:
    """Only same-site paths: never send a freshly signed-in user to another site."""
    if not target:
        return url_for("work.home")
    # Browsers read "/\\evil.example" as "//evil.example" and drop tabs and line breaks, so
    # a backslash or any control character makes the target unsafe, not just "//".
    parts = urlsplit(target)
    unsafe = parts.scheme or parts.netloc or "\\" in target or UNSAFE_IN_NEXT.search(target)
    if unsafe or not target.startswith("/") or target.startswith("//"):
        return url_for("work.home")
    return target


LOGIN_FORM = {
    "application/x-www-form-urlencoded": {
        "type": "object",
        "properties": {
            "username": {"type": "string"},
            "password": {"type": "string"},
            "csrf_token": {"type": "string"},
        },
    }
}


@bp.route("/login", methods=["GET", "POST"])
@access(public=True)
@spec(
    "The sign-in form (a page); POST signs in and redirects",
    body=LOGIN_FORM,
    responses={200: HTML, 302: None, 401: HTML, 429: HTML},
    tag="pages",
)
def login():
    error, username = None, ""
    if request.method == "POST":
        username = request.form.get("username", "")[:80]
        password = request.form.get("password", "")[:1000]
        try:
            user = sign_in(for_request(), uow(), username, password, request.remote_addr or "")
        except ApiError as err:
            error = err.message
            status = err.status
        else:
            unit = uow()
            start_session(unit.session, user, services().clock.now())
            unit.commit()
            return redirect(safe_next(request.args.get("next")))
        return login_page(error, username, status)
    return login_page(None, username, 200)


def login_page(error: str | None, username: str, status: int):
    """The form, with a "Sign in with ..." link for each identity provider (docs/identity.md)
    that keeps where the person was going."""
    target = request.args.get("next")
    links = [
        (found.label, url_for("sso.start", provider=found.name, next=target))
        for found in oidc.providers()
    ]
    page = render_template("login.html", error=error, username=username, providers=links)
    return page, status


@bp.route("/logout", methods=["GET", "POST"])
@access(public=True)
@spec("Sign out (a page); POST ends the session", responses={200: HTML, 302: None}, tag="pages")
def logout():
    if request.method == "POST":
        unit = uow()
        end_session(unit.session, services().clock.now())
        unit.commit()
        return redirect(url_for("pages.login"))
    return render_template("logout.html", user=current_user())
