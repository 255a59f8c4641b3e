"""Signing in for API clients: expiring bearer tokens, and who am I (api.md, "Conventions")."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify, request
from flask_wtf.csrf import generate_csrf

from service.access import access
from service.api.requests import body_of
from service.api.schemas import MeOut, TokenIn, TokenOut
from service.auth import CurrentUser, current_user, issue_token
from service.auth import revoke_token as revoke
from service.casework.desk import for_request
from service.casework.sign_in import sign_in
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec

bp = Blueprint("auth", __name__)


@bp.post("/auth/token")
@access(public=True, csrf_exempt=True)
@spec(
    "Sign in: a bearer token",
    body=TokenIn,
    responses={200: TokenOut},
    errors=(401, 429),
    tag="auth",
)
def create_token():
    body = body_of(TokenIn)
    unit = uow()
    address = request.remote_addr or ""
    user = sign_in(for_request(), unit, body["username"], body["password"], address)
    now = services().clock.now()
    ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
    raw, token = issue_token(unit.session, user, now, ttl)
    me = CurrentUser.of(user, "token", token.id).to_dict()
    unit.commit()
    return jsonify({"token": raw, "expires_at": token.expires_at.isoformat(), "user": me})


@bp.delete("/auth/token")
@access(anyone=True)
@spec("Revoke the bearer token sent", responses={204: None})
def revoke_token():
    user = current_user()
    if user.token_id is None:
        raise ApiError(400, "bad_request", "Send the token to revoke as 'Authorization: Bearer'.")
    unit = uow()
    revoke(unit.session, user.token_id, services().clock.now())
    unit.commit()
    return "", 204


@bp.get("/me")
@access(anyone=True)
@spec("Who am I (and the CSRF token of a browser session)", responses={200: MeOut})
def me():
    user = current_user()
    body = {"user": user.to_dict()}
    if user.via == "session":
        body["csrf_token"] = generate_csrf()
    return jsonify(body)
