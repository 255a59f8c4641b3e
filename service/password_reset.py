"""One-time password reset links an administrator issues, and using one.

Why links and not passwords set by the administrator: a password the administrator chose is
known to two people; a link lets the person choose their own, and it is worthless once used or
past ``PASSWORD_RESET_HOURS``. The token is 256 random bits; only its SHA-256 is kept (as for
sessions and API tokens), so neither a copy of the database nor the audit trail resets anyone.
A new link ends the person's earlier unused ones; using one ends every session and token of
theirs (``service.users.set_password``), and a disabled account's link does nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.errors import ApiError
from service.sessions import digest
from service.users import check_password, set_password
from storage.administration import PasswordReset
from storage.models import User
from tasks.notify import Mailer
from workflows.clock import Clock

GONE = "This link has expired or has been used. Ask an administrator for a new one."


@dataclass(frozen=True)
class Issued:
    """A link just issued: the raw token is shown or sent once, never stored."""

    token: str
    expires_at: datetime


def issue(session: Session, clock: Clock, user: User, lifetime: timedelta, by: str) -> Issued:
    """A new link for ``user``; any earlier unused link of theirs stops working."""
    now = clock.now()
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=digest(raw),
            created_at=now,
            expires_at=now + lifetime,
            created_by=by[:80],
        )
    )
    session.flush()
    return Issued(raw, now + lifetime)


def holder(session: Session, raw: str, now: datetime) -> User:
    """The active user a live link resets; 410 for a link used, expired, unknown or whose
    account is disabled (all alike: the answer tells a guesser nothing)."""
    found = session.execute(
        select(User)
        .join(PasswordReset, PasswordReset.user_id == User.id)
        .where(
            PasswordReset.token_hash == digest(raw[:200]),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
            User.active.is_(True),
        )
    ).scalar_one_or_none()
    if found is None:
        raise ApiError(410, "gone", GONE)
    return found


def redeem(session: Session, clock: Clock, raw: str, password: str) -> User:
    """Set the new password through the link, once: of two uses at the same moment one wins
    and the other is 409. Every session and token of the person ends."""
    now = clock.now()
    user = holder(session, raw, now)
    check_password(password)
    used = session.execute(
        update(PasswordReset)
        .where(PasswordReset.token_hash == digest(raw), PasswordReset.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if used != 1:
        raise ApiError(409, "conflict", "This link was used at the same moment; it is spent.")
    set_password(session, clock, user, password)
    return user


def email(mailer: Mailer, user: User, link: str, expires_at: datetime) -> None:
    """The link, to the person's own address: nothing else about them or their work."""
    body = (
        f"An administrator of safeguard-flow issued a link for you ({user.username}) to choose "
        f"a new password. It works once, until {expires_at:%d %b %Y %H:%M} UTC:\n\n{link}\n\n"
        "If you did not ask for this, tell your administrator; your password stays as it is."
    )
    mailer.send(user.email or "", "Choose a new safeguard-flow password", body)
