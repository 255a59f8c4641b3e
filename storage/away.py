"""Out-of-office periods: who is away, from when to when, and which colleague covers them.

Why a table of its own and not a flag on the user: the period is a record (who said so, when,
and whether it was called off), and a default assignee is checked against the dates the step
opens on, so a period can be entered ahead of a holiday (tasks/away.py).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, new_id
from storage.types import UTCDateTime


class AwayPeriod(Base):
    """One person away for whole days (``starts_on`` to ``ends_on``, London dates, inclusive),
    their new steps going to ``cover_id``; ``cancelled_at`` set when called off early."""

    __tablename__ = "away_period"
    __table_args__ = (Index("ix_away_period_user", "user_id", "ends_on"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    cover_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(80))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
