"""Signing in with an identity provider (single sign-on, docs/identity.md): off to the provider,
and back with its answer.

Both are GETs: the login page's "Sign in with ..." is a link (the page's CSP allows forms to post
only to this site, and a form's redirect to the provider would be such a post), and the provider
sends the browser back with a GET that carries the browser's cookie (SameSite=Lax). Starting a
sign-in by a link forged on another site only starts the victim's own sign-in: the ``state``
kept in their session is what the answer must match.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, session

from service import oidc
from service.access import access
from service.auth import start_session
from service.casework.desk import for_request
from service.casework.sso_sign_in import refuse, sign_in_with
from service.context import services, uow
from service.errors import ApiError
from service.input_guard import leave_for
from service.oidc import SsoRefused
from service.openapi import HTML, spec
from service.pages.auth import login_page, safe_next

bp = Blueprint("sso", __name__)

NEXT_KEY = "sso_next"


def _provider(name: str):
    found = oidc.provider(name)
    if found is None:
        raise ApiError(404, "not_found", f"There is no identity provider called {name[:40]!r}.")
    return found


@bp.route("/login/sso/<provider>")
@access(public=True)
@spec(
    "Start signing in with an identity provider (a page): a redirect to its sign-in page",
    responses={302: None, 404: HTML, 502: HTML},
    tag="pages",
)
def start(provider: str):
    found = _provider(provider)
    target = safe_next(request.args.get("next"))
    try:
        response = oidc.redirect_to(found)
    except SsoRefused as refused:
        return _refused_page(refused, 502)
    session[NEXT_KEY] = target
    return leave_for(response)


@bp.route("/login/sso/<provider>/callback")
@access(public=True)
@spec(
    "Where an identity provider sends the browser back (a page): signs in and redirects",
    responses={302: None, 400: HTML, 403: HTML, 404: HTML, 502: HTML},
    tag="pages",
)
def callback(provider: str):
    found = _provider(provider)
    desk, unit = for_request(), uow()
    target = safe_next(session.get(NEXT_KEY))
    try:
        claims = oidc.verified_claims(found, desk.now())
    except SsoRefused as refused:
        refuse(desk, unit, found, refused)
        return _refused_page(refused, 502 if refused.outcome == "provider_unreachable" else 400)
    try:
        user = sign_in_with(desk, unit, found, claims)
    except SsoRefused as refused:
        return _refused_page(refused, 403)
    start_session(unit.session, user, services().clock.now())  # a fresh cookie: state is gone
    unit.commit()
    return redirect(target)


def _refused_page(refused: SsoRefused, status: int):
    session.pop(NEXT_KEY, None)
    return login_page(refused.message, "", status)
