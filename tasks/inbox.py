"""A manager's inbox: the open escalations addressed to them, and what resolves one.

An escalation is addressed to a person (``manager_username``) or, when nobody is named, to a role
within an agency (see ``tasks/reminders.py``). A manager sees the ones naming them and the ones of
a role they hold — within their own agency when the escalation names one. Administrators see all.

Resolving removes the item from the inbox: explicitly (``resolve``, with a resolution text), by
moving the due time (``extend_due``, with a reason), or by the work itself — completing the task
(``reminders.cancel_for_task``) or reassigning it (``resolve_for_task``, called by the assignment
code).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Escalation, Task, User
from tasks import notify, parties, reminders, work
from tasks.reminders import ReminderPolicy
from tasks.worklist import worklist_query
from workflows.errors import Conflict, NotFound

MAX_RESOLUTION = 4000
KINDS = ("overdue_task", "disagreement", "advice_request", "escalation_notice")
# Copies for information (the board's copy of a stage-3 notice): they stay until their reader
# closes them, even after the instance ends.
KEPT_AFTER_THE_END = ("escalation_notice",)
# The steps of the shipped diagrams (processes.md) that are an inbox's business as they wait:
# a practitioner asking a manager or DSL for advice, a disagreement at a manager's stage.
ADVICE_STEPS = frozenset({("information_sharing", "give_advice")})
DISAGREEMENT_STEPS = frozenset({("escalation", f"resolve_stage{n}") for n in (2, 3, 4)})


class Person(Protocol):
    """A ``User`` row or the signed-in ``CurrentUser``: what addressing needs."""

    username: str
    roles: Any
    agency: str | None


def addressed_to(who: Person) -> ColumnElement[bool] | None:
    """A WHERE clause for escalations addressed to this person; ``None``: all (an admin)."""
    username, roles, agency = who.username, set(who.roles or ()), who.agency
    if "admin" in roles:
        return None
    by_role = and_(
        Escalation.role.in_(sorted(roles)),
        or_(Escalation.agency.is_(None), Escalation.agency == agency),
    )
    return or_(Escalation.manager_username == username, by_role)


def open_escalations(
    session: Session,
    who: Person,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[tuple[Escalation, Task | None]]:
    """The open escalations for this person, oldest first, each with its task row.

    ``after`` is a ``(since, id)`` cursor from the last item of a previous page.
    """
    query = (
        select(Escalation, Task)
        .outerjoin(Task, Task.id == Escalation.task_id)
        .where(Escalation.status == "open")
    )
    clause = addressed_to(who)
    if clause is not None:
        query = query.where(clause, not_their_own(who.username))
    if after is not None:
        since, last_id = after
        query = query.where(
            or_(Escalation.since > since, and_(Escalation.since == since, Escalation.id > last_id))
        )
    query = query.order_by(Escalation.since, Escalation.id)
    if limit is not None:
        query = query.limit(limit)
    return [(e, t) for e, t in session.execute(query).all()]


def not_their_own(username: str) -> ColumnElement[bool]:
    """Leaves out an overdue item of the person's own step: a DSL holding a late DSL step is
    told it is overdue, not asked to manage themselves (its other DSLs are)."""
    return or_(
        Escalation.kind != "overdue_task",
        Escalation.manager_username.is_not(None),
        Task.assignee.is_(None),
        Task.assignee != username,
    )


def may_act_on(session: Session, who: Person, task_id: str) -> bool:
    """An open overdue item of this open task is addressed to this person, who holds the role
    that manages the step: they may open it and give it to someone (docs/security.md), though
    nothing else makes them a party to the case."""
    task = session.get(Task, task_id)
    if task is None or task.status != "open" or task.assignee == who.username:
        return False
    if reminders.managing_role(task.candidate_roles) not in set(who.roles or ()):
        return False
    clause = addressed_to(who)
    if clause is None:
        return False  # an administrator sees every item, and does no casework
    query = select(Escalation.id).where(
        Escalation.task_id == task_id,
        Escalation.kind == "overdue_task",
        Escalation.status == "open",
        clause,
    )
    return session.scalar(query.limit(1)) is not None


def find_for(session: Session, escalation_id: str, who: Person) -> Escalation:
    """The escalation if it is addressed to this person; ``NotFound`` otherwise (no leak)."""
    query = select(Escalation).where(Escalation.id == escalation_id)
    clause = addressed_to(who)
    if clause is not None:
        query = query.where(clause)
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(f"escalation {escalation_id} does not exist")
    return row


def resolve(
    session: Session, escalation: Escalation | str, by: str, resolution: str, now: datetime
) -> Escalation:
    """Close one escalation with a written resolution; ``Conflict`` if it is already closed."""
    row = escalation if isinstance(escalation, Escalation) else session.get(Escalation, escalation)
    if row is None:
        raise NotFound(f"escalation {escalation} does not exist")
    if row.status != "open":
        raise Conflict(f"escalation {row.id} is already resolved")
    row.status = "resolved"
    row.resolved_at = now
    row.resolved_by = by
    row.resolution = resolution[:MAX_RESOLUTION]
    session.flush()
    return row


def resolve_for_task(
    session: Session, task_id: str, by: str | None, resolution: str, now: datetime
) -> int:
    """Resolve a task's open overdue escalations (e.g. ``"reassigned to sam"``); how many."""
    return reminders.resolve_task_escalations(
        session, task_id, now, by, resolution, kinds=("overdue_task",)
    )


def reassign(
    session: Session,
    task_id: str,
    username: str,
    manager: parties.Viewer,
    now: datetime,
    version: int | None = None,
) -> Task:
    """A manager gives a task to someone else; its overdue escalation is resolved by that."""
    task = work.assign(session, task_id, username, manager, now, version)
    resolve_for_task(session, task_id, manager.username, f"reassigned to {task.assignee}", now)
    return task


def team(session: Session, manager_id: str) -> list[User]:
    """The active people a manager manages, by name (whom they may reassign work to)."""
    return list(
        session.scalars(
            select(User)
            .where(User.manager_id == manager_id, User.active.is_(True))
            .order_by(User.display_name, User.username)
        )
    )


def waiting_steps(
    session: Session, viewer: parties.Viewer, now: datetime, steps: frozenset[tuple[str, str]]
) -> list[tuple[Task, str, str | None]]:
    """Open tasks of the given ``(process_key, element_id)`` steps that this person holds or may
    claim, soonest due first: e.g. the advice requests and the disagreements at their stage."""
    found: dict[str, tuple[Task, str, str | None]] = {}
    for view in ("mine", "candidate"):
        for task, key, business_key in session.execute(worklist_query(viewer, view, now)):
            if (key, task.element_id) in steps:
                found.setdefault(task.id, (task, key, business_key))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(found.values(), key=lambda row: (row[0].due_at or far, row[0].id))


def raise_item(
    session: Session,
    kind: str,
    now: datetime,
    *,
    task_id: str | None = None,
    instance_id: str | None = None,
    manager_username: str | None = None,
    role: str | None = None,
    agency: str | None = None,
    due_at: datetime | None = None,
    details: dict | None = None,
) -> Escalation:
    """Put an item in an inbox: e.g. an ``advice_request`` or a ``disagreement`` at a stage,
    addressed to a manager by name or to a role (within ``agency``) when nobody is named."""
    if kind not in KINDS:
        raise ValueError(f"escalation kind must be one of {KINDS}")
    row = Escalation(
        kind=kind,
        task_id=task_id,
        instance_id=instance_id,
        manager_username=manager_username,
        role=role,
        agency=agency,
        since=now,
        due_at=due_at,
        status="open",
        details=details,
    )
    session.add(row)
    session.flush()
    return row


def resolve_for_instance(
    session: Session, instance_id: str, by: str | None, resolution: str, now: datetime
) -> int:
    """Resolve every open escalation of an instance that ended or was cancelled (but copies
    for information); how many."""
    return session.execute(
        update(Escalation)
        .where(
            Escalation.instance_id == instance_id,
            Escalation.status == "open",
            Escalation.kind.not_in(KEPT_AFTER_THE_END),
        )
        .values(status="resolved", resolved_at=now, resolved_by=by, resolution=resolution)
        .execution_options(synchronize_session=False)
    ).rowcount


def managed_usernames(manager_id: str) -> Select:
    """The usernames of the people a manager manages (for the worklist's ``view=team``)."""
    return select(User.username).where(User.manager_id == manager_id)


def extend_due(
    session: Session,
    task_id: str,
    new_due: datetime,
    reason: str,
    by: str,
    now: datetime,
    policy: ReminderPolicy | None = None,
) -> list[datetime]:
    """Give a task more time: new due time, fresh timers, its overdue escalation resolved.

    The reason is kept on the resolved escalation and in an in-app notification to the assignee
    (its ``body``, which is never emailed: a reason may name the child). Returns the due times of
    the timers written, for the caller to re-arm the scheduler after its commit.
    """
    if new_due.tzinfo is None:
        raise ValueError("new_due must be timezone-aware")
    if new_due <= now:
        raise ValueError("the new due time must be in the future")
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if task.status != "open":
        raise Conflict(f"task {task_id} is {task.status}; only an open task can be given time")
    policy = policy or ReminderPolicy()
    task.due_at = new_due
    session.flush()
    written = reminders.schedule_for_task(session, task, now, policy)
    when = policy.when(new_due)
    resolution = f"due time extended to {new_due.isoformat()} by {by}: {reason}"
    resolve_for_task(session, task_id, by, resolution[:MAX_RESOLUTION], now)
    if task.assignee:
        notify.notify(
            session,
            [task.assignee],
            "info",
            f"'{task.name or task.element_id}' is now due {when}",
            now,
            task_id=task.id,
            instance_id=task.instance_id,
            link=notify.task_link(task.id),
            body=f"New due time set by {by}. Reason: {reason}",
        )
    return written
