"""Who is calling: passwords, login throttling, bearer tokens and the browser session.

A request is authenticated either by ``Authorization: Bearer <token>`` (API clients) or by the
session cookie (browser pages). The two never mix: a request that sends an Authorization header
is judged by it alone, so a stale cookie cannot rescue a bad token. Only the SHA-256 of a token
is stored, so a copy of the database yields no usable token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import ApiError
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
    def of(cls, user: User, via: str, token_id: str | None = None) -> CurrentUser:
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
        )


class LoginRefused(ApiError):
    """Wrong credentials (401) or too many failures (429, with how long to wait)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(status, code, message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures allowed freely, then a doubling wait between attempts, then a lock."""

    free_failures: int = 3
    first_wait: timedelta = timedelta(seconds=2)
    lock_after: int = 10
    lock_for: timedelta = timedelta(minutes=15)

    def wait_after(self, failures: int) -> timedelta:
        if failures < self.free_failures:
            return timedelta(0)
        return self.first_wait * (2 ** (failures - self.free_failures))

    @classmethod
    def from_config(cls, config) -> ThrottlePolicy:
        return cls(
            free_failures=config["LOGIN_FREE_FAILURES"],
            first_wait=timedelta(seconds=config["LOGIN_FIRST_WAIT_SECONDS"]),
            lock_after=config["LOGIN_LOCK_AFTER"],
            lock_for=timedelta(minutes=config["LOGIN_LOCK_MINUTES"]),
        )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def check_login(
    db: Session, clock: Clock, username: str, password: str, policy: ThrottlePolicy
) -> tuple[User | None, LoginRefused | None]:
    """Verify a password under the throttle; the caller commits either way.

    Failures must be counted even though the login fails, so this returns the refusal instead
    of raising it, leaving the caller to commit the counters first.
    """
    now = clock.now()
    user = db.scalar(select(User).where(User.username == username).with_for_update())
    if user is None or not user.active or not user.password_hash:
        _verify(_DUMMY_HASH, password)
        return None, LoginRefused(401, "invalid_credentials", "Wrong username or password.")
    if user.locked_until is not None and now < user.locked_until:
        wait = _seconds(user.locked_until - now)
        return None, LoginRefused(
            429, "locked", f"Too many failed attempts: try again in {wait} seconds.", wait
        )
    if user.locked_until is not None:  # the lock has run out: start afresh
        user.locked_until, user.failed_logins = None, 0
    wait_until = (user.last_failed_at or now) + policy.wait_after(user.failed_logins)
    if user.failed_logins and now < wait_until:
        wait = _seconds(wait_until - now)
        return None, LoginRefused(
            429, "slow_down", f"Too many failed attempts: wait {wait} seconds.", wait
        )
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        user.last_failed_at = now
        if user.failed_logins >= policy.lock_after:
            user.locked_until = now + policy.lock_for
        return None, LoginRefused(401, "invalid_credentials", "Wrong username or password.")
    user.failed_logins, user.last_failed_at = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user, None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- bearer tokens ------------------------------------------------------------------------------
def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(db: Session, user: User, now: datetime, ttl: timedelta) -> tuple[str, ApiToken]:
    raw = "sgf_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=_digest(raw), created_at=now, expires_at=now + ttl)
    db.add(token)
    db.flush()
    return raw, token


def revoke_token(db: Session, token_id: str, now: datetime) -> None:
    token = db.get(ApiToken, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = now


def _token_user(db: Session, raw: str, now: datetime) -> CurrentUser | None:
    found = db.execute(
        select(User, ApiToken.id)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == _digest(raw),
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            User.active.is_(True),
        )
    ).first()
    return CurrentUser.of(found[0], "token", found[1]) if found else None


# -- the current request ------------------------------------------------------------------------
def load_current_user(db: Session, now: datetime) -> CurrentUser | None:
    """Sets ``g.user`` from the request's token or session; raises 401 for a bad token."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw or len(raw) > 200:
            raise ApiError(401, "unauthorized", "Use 'Authorization: Bearer <token>'.")
        user = _token_user(db, raw, now)
        if user is None:
            raise ApiError(401, "unauthorized", "The token is unknown, expired or revoked.")
    else:
        user = _session_user(db, now)
    g.user = user
    return user


def _session_user(db: Session, now: datetime) -> CurrentUser | None:
    user_id = session.get("uid")
    if not isinstance(user_id, str):
        return None
    signed_in = session.get("at")
    lifetime = current_app.permanent_session_lifetime
    if (
        not isinstance(signed_in, int | float)
        or now.timestamp() - signed_in > lifetime.total_seconds()
    ):
        session.clear()
        return None
    row = db.get(User, user_id)
    if row is None or not row.active:
        session.clear()
        return None
    return CurrentUser.of(row, "session")


def start_session(user: User, now: datetime) -> None:
    """Sign a browser in: a fresh session (against fixation) holding the user and the time."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["at"] = now.timestamp()


def end_session() -> None:
    session.clear()


def current_user() -> CurrentUser | None:
    return g.get("user")
