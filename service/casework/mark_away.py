"""A person marks themselves away, naming who covers their new steps, or calls it off.

One path for the account page (and any later API): the period is checked and recorded by
``tasks/away.py`` and noted on the request's audit event (who covers, which days), so the trail
shows who was given a colleague's work and why.
"""

from __future__ import annotations

from datetime import date

from service.casework.desk import Desk
from storage.away import AwayPeriod
from storage.models import User
from storage.uow import UnitOfWork
from tasks import away
from workflows.errors import NotFound


def _person(unit: UnitOfWork, user_id: str) -> User:
    person = unit.session.get(User, user_id)
    if person is None:
        raise NotFound(f"user {user_id} does not exist")
    return person


def mark_away(
    desk: Desk, unit: UnitOfWork, user_id: str, starts_on: date, ends_on: date, cover: str
) -> AwayPeriod:
    """Record the period (not committed); ``InvalidInput`` naming the field that is wrong."""
    row = away.mark_away(
        unit.session, _person(unit, user_id), starts_on, ends_on, cover, desk.now()
    )
    desk.note(
        detail={
            "away_period": row.id,
            "cover": cover,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
        }
    )
    return row


def call_off(desk: Desk, unit: UnitOfWork, user_id: str, period_id: str) -> AwayPeriod:
    """Cancel one of the person's own periods (not committed); ``NotFound`` for any other."""
    row = away.cancel(unit.session, _person(unit, user_id), period_id, desk.now())
    desk.note(detail={"away_period": row.id, "cancelled": True})
    return row
