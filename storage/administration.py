"""What administrators keep: the registry of agencies, and one-time password reset links.

Why a registry table and not a list in code: agencies join and leave a partnership, and a typo
typed at a prompt (``schoool``) must be refused, not stored. Users name an agency by its
``code``; the codes the diagrams and the sharing register use (``workflows.rules.AGENCIES``)
are seeded by migration 0021 and cannot be retired (service/agencies.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, new_id
from storage.types import UTCDateTime

# What migration 0021 writes: the vocabulary of diagrams and the register, and the partnership's
# own business unit (the Board, its officers and administrators belong to it). The tests put
# these back after emptying the tables; a test checks a migrated database holds exactly these.
SEED: tuple[tuple[str, str], ...] = (
    ("childrens_social_care", "Children's social care"),
    ("early_help", "Early help"),
    ("health", "Health"),
    ("other", "Other"),
    ("partnership", "The safeguarding partnership"),
    ("police", "Police"),
    ("school", "School"),
    ("voluntary", "Voluntary sector"),
)


class Agency(Base):
    """An agency people may belong to. Retired (``active`` false) rather than deleted: users
    and records still name it."""

    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PasswordReset(Base):
    """A one-time link an administrator issued. Only the SHA-256 of its random token is kept,
    so a copy of the database resets nobody's password."""

    __tablename__ = "password_reset"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(80))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
