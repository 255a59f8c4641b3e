"""Server-side sessions, and ending every way a person is signed in at once.

Choice: our own ``user_session`` table rather than Flask-Session. The row must be ended by
events that happen outside the browser's request (an account disabled at the command line, a
password changed by an administrator, "sign out everywhere" from another device), found by
user, listed to its owner with where and when it was used, and ended in the same transaction as
the change that ends it. Flask-Session keeps opaque pickled blobs keyed by session id: none of
that. Flask's signed cookie still carries the CSRF token and the session's random id; the id's
SHA-256 is the row's key, as for API tokens (``service/auth.py``).

Cost per request: one indexed lookup (the session by hash, joined with its user, active). The
row's ``last_seen_at`` is written at most once a minute, in a short transaction of its own after
the response (``service/context.py``), not on every request, and never waited for: when SQLite's
writer is busy it is queued for the background flush (``records/pending.py``); so the idle limit
is exact to within that minute. "On every worker" follows from the database being the truth:
an ended row is ended for every process at its next request.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Executable, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage import UnitOfWork
from storage.database import is_write_conflict, read_only, without_waiting
from storage.models import ApiToken, User, UserSession

log = logging.getLogger(__name__)

TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 200


def digest(raw: str) -> str:
    """What is stored of a session id or a token: its SHA-256."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lives without a request, and at most; tokens' idle limit (0: none)."""

    idle: timedelta
    absolute: timedelta
    token_idle: timedelta | None

    @classmethod
    def from_config(cls, config: Any) -> Lifetimes:
        token_idle = int(config["TOKEN_IDLE_MINUTES"])
        return cls(
            idle=timedelta(minutes=int(config["SESSION_IDLE_MINUTES"])),
            absolute=config["PERMANENT_SESSION_LIFETIME"],
            token_idle=timedelta(minutes=token_idle) if token_idle else None,
        )


def open_session(
    db: Session,
    user: User,
    now: datetime,
    lifetimes: Lifetimes,
    ip: str | None,
    user_agent: str | None,
) -> str:
    """A new session row for ``user``; returns the raw id for the cookie (never stored)."""
    raw = secrets.token_urlsafe(32)  # 256 bits
    db.add(
        UserSession(
            user_id=user.id,
            token_hash=digest(raw),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetimes.absolute,
            ip=(ip or "")[:45] or None,
            user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None,
        )
    )
    db.flush()
    return raw


def find_session(
    db: Session, raw: str, now: datetime, lifetimes: Lifetimes
) -> tuple[User, UserSession] | None:
    """The live session of ``raw`` and its active user: one indexed lookup."""
    return _of_active_user(
        db,
        UserSession,
        raw,
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
        UserSession.last_seen_at > now - lifetimes.idle,
    )


def find_token(
    db: Session, raw: str, now: datetime, lifetimes: Lifetimes
) -> tuple[User, ApiToken] | None:
    """The live API token of ``raw`` and its active user, by the same rules as a session."""
    found = _of_active_user(
        db, ApiToken, raw, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
    )
    return found if found is not None and token_alive(found[1], now, lifetimes) else None


def _of_active_user(db: Session, model: Any, raw: str, *live: Any) -> tuple[User, Any] | None:
    found = db.execute(
        select(User, model)
        .join(model, model.user_id == User.id)
        .where(model.token_hash == digest(raw), User.active.is_(True), *live)
    ).first()
    return (found[0], found[1]) if found else None


def needs_touch(last_seen: datetime | None, now: datetime) -> bool:
    return last_seen is None or now - last_seen >= TOUCH_EVERY


def touch(
    factory: sessionmaker[Session],
    kind: str,
    row_id: str,
    now: datetime,
    later: Callable[[Hashable, Executable], None],
) -> None:
    """Record that a session (``kind`` "session") or token ("token") was used ``now``.

    Its own short write, after the request: a GET's transaction only reads (SQLite's writer
    lock is not taken for it). Where SQLite's writer is busy (a start running a long script),
    the write is not waited for: ``later`` queues it for the background flush (seconds late,
    well inside the minute the idle limit is exact to). Any other failure is logged only.
    """
    model, column = (
        (UserSession, "last_seen_at") if kind == "session" else (ApiToken, "last_used_at")
    )
    statement = update(model).where(model.id == row_id).values({column: now})
    try:
        with read_only(False), without_waiting(), UnitOfWork(factory) as unit:
            unit.session.execute(statement)
            unit.commit()
    except OperationalError as err:
        if not is_write_conflict(err):
            log.warning("could not record the use of a %s: %s", kind, type(err).__name__)
            return
        later((kind, row_id), statement)
    except SQLAlchemyError as err:
        log.warning("could not record the use of a %s: %s", kind, type(err).__name__)


def end_session(db: Session, session_id: str, now: datetime, reason: str) -> None:
    db.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def end_everything(db: Session, user_id: str, now: datetime, reason: str) -> int:
    """End every session and revoke every token of ``user_id``: the one place that logout
    everywhere, disabling an account and changing its password or roles go through.

    In the caller's transaction, so the change and the ending commit together. Returns how many
    sessions and tokens were live.
    """
    sessions = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    ).rowcount
    tokens = db.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    return sessions + tokens


@dataclass(frozen=True)
class SignedIn:
    """One way ``user`` is signed in, as their account page lists it."""

    id: str
    kind: str  # "browser" or "API token"
    created_at: datetime
    last_seen_at: datetime | None
    ip: str | None
    user_agent: str | None


def live_for(db: Session, user_id: str, now: datetime, lifetimes: Lifetimes) -> list[SignedIn]:
    """``user_id``'s live sessions and tokens, the most recently used first."""
    sessions = db.scalars(
        select(UserSession).where(
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
            UserSession.expires_at > now,
            UserSession.last_seen_at > now - lifetimes.idle,
        )
    )
    tokens = db.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user_id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
    )
    found = [
        SignedIn(s.id, "browser", s.created_at, s.last_seen_at, s.ip, s.user_agent)
        for s in sessions
    ]
    found += [
        SignedIn(t.id, "API token", t.created_at, t.last_used_at, None, None)
        for t in tokens
        if token_alive(t, now, lifetimes)
    ]
    return sorted(found, key=lambda s: s.last_seen_at or s.created_at, reverse=True)


def token_alive(token: ApiToken, now: datetime, lifetimes: Lifetimes) -> bool:
    """Within its idle limit (tokens have one only if TOKEN_IDLE_MINUTES is set)."""
    if lifetimes.token_idle is None:
        return True
    return now - (token.last_used_at or token.created_at) < lifetimes.token_idle


def end_one(db: Session, user_id: str, row_id: str, now: datetime) -> bool:
    """End one of ``user_id``'s own sessions or tokens; False if it is not theirs or not live."""
    ended = db.execute(
        update(UserSession)
        .where(
            UserSession.id == row_id,
            UserSession.user_id == user_id,
            UserSession.ended_at.is_(None),
        )
        .values(ended_at=now, end_reason="ended by owner")
    ).rowcount
    if not ended:
        ended = db.execute(
            update(ApiToken)
            .where(
                ApiToken.id == row_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
            )
            .values(revoked_at=now)
        ).rowcount
    return bool(ended)
