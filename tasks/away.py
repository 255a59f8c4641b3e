"""Out-of-office: a person away for some days, and the colleague their new steps go to.

Why cover at all: a step the diagram gives to a person (``initiator``, ``performer(...)``) would
otherwise wait in the inbox of someone on leave until it is overdue. While a period runs, such a
step goes to the named cover instead (``tasks.assignment.settle_assignees``); work already held
stays where it is — a manager moves it from the inbox if it cannot wait.

Who may cover: an active colleague of the same agency holding every casework role the person
holds, so that being given the step makes them no party to a case they could not have taken
anyway (docs/security.md, need-to-know). A cover who is away themselves that day covers nobody:
the step goes to the pool of its role, as for any default assignee who may not do it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.away import AwayPeriod
from storage.models import User
from tasks.calendar import DEFAULT_CALENDAR
from workflows.errors import InvalidInput, NotFound
from workflows.roles import CASEWORK_ROLES

LONGEST_DAYS = 366  # a longer absence is a change of job, made by an administrator


def day_of(now: datetime) -> date:
    """The London date of a moment: periods are whole days where the partnership works."""
    return now.astimezone(DEFAULT_CALENDAR.zone).date()


def may_cover(person: User, cover: User) -> bool:
    """``cover`` may take ``person``'s new steps: see the module's docstring."""
    needed = set(person.roles or ()) & CASEWORK_ROLES
    return (
        cover.id != person.id
        and cover.active
        and cover.agency == person.agency
        and needed <= set(cover.roles or ())
    )


def colleagues_who_may_cover(session: Session, person: User) -> list[User]:
    """Whom the form offers, by name."""
    rows = session.scalars(
        select(User)
        .where(User.agency == person.agency, User.active.is_(True), User.id != person.id)
        .order_by(User.display_name, User.username)
    )
    return [row for row in rows if may_cover(person, row)]


def periods_of(session: Session, person: User, today: date) -> list[tuple[AwayPeriod, str]]:
    """The person's periods not yet over and not called off, soonest first, with the cover's
    username."""
    return list(
        session.execute(
            select(AwayPeriod, User.username)
            .join(User, User.id == AwayPeriod.cover_id)
            .where(
                AwayPeriod.user_id == person.id,
                AwayPeriod.ends_on >= today,
                AwayPeriod.cancelled_at.is_(None),
            )
            .order_by(AwayPeriod.starts_on, AwayPeriod.id)
        )
    )


def mark_away(
    session: Session,
    person: User,
    starts_on: date,
    ends_on: date,
    cover_username: str,
    now: datetime,
) -> AwayPeriod:
    """Record a period (not committed); ``InvalidInput`` naming the field that is wrong."""
    today = day_of(now)
    if ends_on < starts_on:
        raise InvalidInput("The last day must not be before the first", field="ends_on")
    if ends_on < today:
        raise InvalidInput("The last day must be today or later", field="ends_on")
    if (ends_on - starts_on).days >= LONGEST_DAYS:
        raise InvalidInput("A period is at most a year: ask an administrator", field="ends_on")
    cover = session.scalar(select(User).where(User.username == cover_username))
    if cover is None or not may_cover(person, cover):
        raise InvalidInput("Choose a colleague of your agency who holds your roles", field="cover")
    for other, _cover in periods_of(session, person, today):
        if other.starts_on <= ends_on and starts_on <= other.ends_on:
            raise InvalidInput("You are already away on some of these days", field="starts_on")
    row = AwayPeriod(
        user_id=person.id,
        cover_id=cover.id,
        starts_on=starts_on,
        ends_on=ends_on,
        recorded_at=now,
        recorded_by=person.username,
    )
    session.add(row)
    session.flush()
    return row


def cancel(session: Session, person: User, period_id: str, now: datetime) -> AwayPeriod:
    """Call a period off (kept, marked cancelled); ``NotFound`` for anyone else's."""
    row = session.get(AwayPeriod, period_id)
    if row is None or row.user_id != person.id or row.cancelled_at is not None:
        raise NotFound(f"no period {period_id} of yours is open")
    row.cancelled_at = now
    session.flush()
    return row


def _away_on(session: Session, usernames: Iterable[str], day: date) -> dict[str, str]:
    """``{username: cover's user id}`` of those of ``usernames`` away on ``day``."""
    names = sorted(set(usernames))
    if not names:
        return {}
    rows = session.execute(
        select(User.username, AwayPeriod.cover_id)
        .join(AwayPeriod, AwayPeriod.user_id == User.id)
        .where(
            User.username.in_(names),
            AwayPeriod.cancelled_at.is_(None),
            AwayPeriod.starts_on <= day,
            AwayPeriod.ends_on >= day,
        )
    )
    return {username: cover_id for username, cover_id in rows}


def covers(session: Session, usernames: Iterable[str], day: date) -> dict[str, str | None]:
    """For each of ``usernames`` away on ``day``: their cover's username, or ``None`` when
    the cover is away too or no longer active. People not away are left out."""
    away = _away_on(session, usernames, day)
    if not away:
        return {}
    rows = session.execute(
        select(User.id, User.username).where(User.id.in_(set(away.values())), User.active.is_(True))
    )
    cover_names = {row.id: row.username for row in rows}
    covers_away = _away_on(session, cover_names.values(), day)
    found: dict[str, str | None] = {}
    for username, cover_id in away.items():
        cover = cover_names.get(cover_id)
        found[username] = None if cover is None or cover in covers_away else cover
    return found
