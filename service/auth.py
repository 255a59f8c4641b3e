"""Who is calling: passwords under the sign-in throttle, bearer tokens and the browser session.

A request is authenticated either by ``Authorization: Bearer <token>`` (API clients) or by the
session cookie (browser pages), whose id names a ``user_session`` row (``service/sessions.py``).
The two never mix: a request that sends an Authorization header is judged by it alone, so a
stale cookie cannot rescue a bad token. Only the SHA-256 of a token or a session id is stored,
so a copy of the database yields no usable credential.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import ApiError
from service.sessions import (
    Lifetimes,
    digest,
    find_session,
    find_token,
    needs_touch,
    open_session,
)
from service.sessions import end_session as end_session_row
from service.throttle import Throttle, ThrottlePolicy, forget_old
from storage.models import ApiToken, User
from workflows.clock import Clock

_hasher = PasswordHasher()
# Verified when the username is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in person, as every access decision sees them."""

    id: str
    username: str
    display_name: str
    roles: frozenset[str]
    agency: str | None
    manager_id: str | None
    email: str | None
    via: str  # "token" or "session"
    token_id: str | None = None
    session_id: str | None = None  # the user_session row of a browser

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "roles": sorted(self.roles),
            "agency": self.agency,
        }

    @classmethod
    def of(
        cls, user: User, via: str, token_id: str | None = None, session_id: str | None = None
    ) -> CurrentUser:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=frozenset(user.roles or ()),
            agency=user.agency,
            manager_id=user.manager_id,
            email=user.email,
            via=via,
            token_id=token_id,
            session_id=session_id,
        )


class LoginRefused(ApiError):
    """Wrong credentials (401) or too many failures (429, with how long to wait)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(status, code, message)
        self.retry_after = retry_after


WRONG = "Wrong username or password."


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def check_login(
    db: Session,
    clock: Clock,
    username: str,
    password: str,
    policy: ThrottlePolicy,
    address: str,
) -> tuple[User | None, LoginRefused | None]:
    """Verify a password under the throttle of ``address`` and the name; the caller commits.

    Failures must be counted even though the login fails, so this returns the refusal instead
    of raising it, leaving the caller to commit the counters first. Nothing here depends on
    whether ``username`` exists before the password is checked: the throttle is keyed on the
    text typed, and one argon2 verification runs for a known or unknown name alike.
    """
    now = clock.now()
    forget_old(db, now)
    throttle = Throttle.of(db, address, username, policy, now)
    refusal = throttle.refusal(now)
    if refusal is not None:
        wait = _seconds(refusal.wait)
        if refusal.code == "locked":
            message = f"Too many failed attempts: try again in {wait} seconds."
        else:
            message = f"Too many failed attempts: wait {wait} seconds."
        return None, LoginRefused(429, refusal.code, message, wait)
    user = db.scalar(select(User).where(User.username == username))
    if not password_matches(user, password):
        throttle.failed(db, now)
        return None, LoginRefused(401, "invalid_credentials", WRONG)
    throttle.succeeded(db)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user, None


def password_matches(user: User | None, password: str) -> bool:
    """One argon2 verification whatever ``user`` is (a dummy hash for nobody), so the time taken
    does not tell whether the name exists or the account is disabled."""
    usable = user is not None and user.active and bool(user.password_hash)
    matched = _verify(user.password_hash if usable else _DUMMY_HASH, password)
    return usable and matched


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- bearer tokens ------------------------------------------------------------------------------
def issue_token(db: Session, user: User, now: datetime, ttl: timedelta) -> tuple[str, ApiToken]:
    raw = "sgf_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=digest(raw), created_at=now, expires_at=now + ttl)
    db.add(token)
    db.flush()
    return raw, token


def revoke_token(db: Session, token_id: str, now: datetime) -> None:
    token = db.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = now


def _token_user(db: Session, raw: str, now: datetime, lifetimes: Lifetimes) -> CurrentUser | None:
    found = find_token(db, raw, now, lifetimes)
    if found is None:
        return None
    user, token = found
    if needs_touch(token.last_used_at, now):
        g.touch = ("token", token.id)
    return CurrentUser.of(user, "token", token.id)


# -- the current request ------------------------------------------------------------------------
def load_current_user(db: Session, now: datetime) -> CurrentUser | None:
    """Sets ``g.user`` from the request's token or session; raises 401 for a bad token."""
    lifetimes = Lifetimes.from_config(current_app.config)
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw or len(raw) > 200:
            raise ApiError(401, "unauthorized", "Use 'Authorization: Bearer <token>'.")
        user = _token_user(db, raw, now, lifetimes)
        if user is None:
            raise ApiError(401, "unauthorized", "The token is unknown, expired or revoked.")
    else:
        user = _session_user(db, now, lifetimes)
    g.user = user
    return user


def _session_user(db: Session, now: datetime, lifetimes: Lifetimes) -> CurrentUser | None:
    raw = session.get("sid")
    if not isinstance(raw, str) or len(raw) > 100:
        return None
    found = find_session(db, raw, now, lifetimes)
    if found is None:
        session.clear()  # ended, idle or expired: the browser forgets the cookie
        return None
    user, row = found
    if needs_touch(row.last_seen_at, now):
        g.touch = ("session", row.id)
    return CurrentUser.of(user, "session", session_id=row.id)


def start_session(db: Session, user: User, now: datetime) -> None:
    """Sign a browser in: a new row, and a fresh cookie (against fixation) holding its id."""
    raw = open_session(
        db,
        user,
        now,
        Lifetimes.from_config(current_app.config),
        request.remote_addr,
        request.headers.get("User-Agent"),
    )
    session.clear()
    session.permanent = True
    session["sid"] = raw


def end_session(db: Session, now: datetime) -> None:
    """Sign this browser out: its row ends (a copied cookie dies with it), its cookie is cleared."""
    user = current_user()
    if user is not None and user.session_id is not None:
        end_session_row(db, user.session_id, now, "logout")
    session.clear()


def current_user() -> CurrentUser | None:
    return g.get("user")
