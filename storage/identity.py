"""Who is signed in, kept on the server: browser sessions, the sign-in throttle's counters, and
which person an identity provider's subject is.

Why rows and not a signed cookie alone: a cookie carries its own validity, so one copied before
a logout, a password change or a disabled account would work until it expired. A row is ended
once, in the database every worker reads (docs/security.md, "Sessions").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, new_id
from storage.types import UTCDateTime


class UserSession(Base):
    """A signed-in browser. The cookie holds a random 256-bit id; only its SHA-256 is kept here,
    so a copy of the database signs nobody in."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written at most once a minute (service/sessions.py), not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute lifetime
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))


class LoginThrottle(Base):
    """Failed sign-ins of one client address, or of one address and name together.

    ``key`` is a SHA-256 of the kind, the address and the name typed, so the attacker's text is
    not kept; the same row counts an unknown name as a known one (service/throttle.py).
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExternalIdentity(Base):
    """A person here as an identity provider knows them: its name and the ID token's ``sub``.

    Why the subject and not the username or email the token also carries: those can be renamed
    or given to someone else at the provider; ``sub`` never is (OpenID Connect Core, 5.7). The
    username links a person on their first sign-in only (docs/identity.md).
    """

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_external_identity"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
