"""When to remind and when to escalate a task, and what happens when those times come.

Policy (``ReminderPolicy``, configurable through ``REMINDER_FRACTIONS``): a reminder at each
fraction of the time allowed (from the task's ``created_at`` to its ``due_at``) — by default at
half-time and again when due — and at the due time the task is overdue: the people doing it get an
``overdue`` notification and an ``Escalation(kind="overdue_task")`` lands in a manager's inbox.

Each of those moments is a durable ``timer`` row (``task_reminder`` with ``{"stage": …}``,
``task_due``), so it survives restarts and fires exactly once; the handlers made by
:func:`make_handlers` do nothing for a task no longer open.

Who is told (``recipients``): the assignee; an unassigned task's candidates are every active user
holding one of its candidate roles — and for a role that works inside one agency
(``parties.AGENCY_SCOPED_ROLES``: practitioner, manager, dsl) only users of an agency already
involved in the case (the agencies of the case's parties), which is exactly who may claim it under
need-to-know. Users are filtered in Python because ``roles`` is a JSON list; a partnership has
hundreds of users, not millions.

Who the overdue task escalates to (``escalation_targets``): someone who can act on it — give it
to someone who may do it, or do it. That is a holder of the step's *managing role*: the first of
``csc_manager``, ``manager``, ``dsl`` that manages one of its candidate roles
(``workflows.roles.MANAGED_BY``: a practitioner's or manager's step → ``manager``, the front
door's → ``csc_manager``, a DSL-only step → ``dsl``).

1. the assignee's line manager (``User.manager_id``), when the task is assigned and the manager is
   active and holds the managing role — ``manager_username`` set. A school's head teacher
   (``manager``, no ``dsl``) is not sent a DSL's late CSE notification they could not give to
   anyone;
2. otherwise the managing role itself: the escalation names a role instead of a person, and for
   an agency-scoped role the agency: the assignee's, or for an unassigned task one escalation per
   agency involved in the case. Every holder of that role (in that agency) sees it in their
   inbox — but the assignee, who is told it is overdue anyway;
3. when no agency can be found for an agency-scoped role, nobody but administrators sees it
   (``role=None``): better unrouted than shown to every agency's managers.

Whoever an open overdue item is addressed to may open and reassign that task
(``tasks.inbox.may_act_on``), though they are no party to the case otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Escalation, ProcessInstance, Task, Timer, User, new_id
from storage.uow import UnitOfWork
from tasks import notify, parties, timers
from workflows.roles import MANAGED_BY, MANAGING_ORDER

log = logging.getLogger(__name__)

REMINDER, DUE = "task_reminder", "task_due"
TASK_TIMER_KINDS = (REMINDER, DUE, "task_escalation")


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out, as fractions of the time a task is allowed (1.0 = when due)."""

    fractions: tuple[float, ...] = (0.5, 1.0)
    timezone: str = "Europe/London"  # how due times are written in titles

    def __post_init__(self) -> None:
        if any(not 0 < f <= 1 for f in self.fractions):
            raise ValueError("reminder fractions must be in (0, 1]")

    @classmethod
    def parse(cls, text: str | None, **fields) -> ReminderPolicy:
        """``"0.5,1"`` → ``ReminderPolicy(fractions=(0.5, 1.0))``; empty: the default."""
        if not text or not text.strip():
            return cls(**fields)
        return cls(
            fractions=tuple(sorted(float(p) for p in text.split(",") if p.strip())), **fields
        )

    def when(self, due_at: datetime) -> str:
        local = due_at.astimezone(ZoneInfo(self.timezone))
        return local.strftime("%a %d %b %Y %H:%M")


def stage_name(fraction: float) -> str:
    if fraction >= 1:
        return "due"
    if fraction == 0.5:
        return "halfway"
    return f"at_{round(fraction * 100)}pct"


def schedule_for_task(
    session: Session,
    task_row: Task,
    now: datetime,
    policy: ReminderPolicy | None = None,
    fresh: bool = False,
) -> list[datetime]:
    """(Re)write the reminder and due timers of an open task; the due times written.

    Live timers of the task from an earlier schedule are cancelled first, so calling this again
    after the due time moved (or the task was reassigned) never doubles a reminder; ``fresh``:
    the task opened in this step, so it has none and nothing is cancelled. Reminders whose
    moment has passed are skipped; the due timer is always written (in the past it fires at
    once). The rows go in one batched ``INSERT`` (timers.schedule_many). The caller re-arms the
    scheduler with ``min(result)`` after its commit.
    """
    policy = policy or ReminderPolicy()
    if not fresh:
        timers.cancel_for_task(session, task_row.id, kinds=(REMINDER, DUE))
    if task_row.due_at is None or task_row.status != "open":
        return []
    due = task_row.due_at
    start = task_row.created_at or now
    where = {"instance_id": task_row.instance_id, "task_id": task_row.id}
    wanted: list[tuple[str, datetime, dict | None]] = []
    for fraction in sorted(set(policy.fractions)):
        at = due if fraction >= 1 else start + (due - start) * fraction
        if at > now:
            wanted.append((REMINDER, at, {"stage": stage_name(fraction)}))
    wanted.append((DUE, due, None))
    timers.schedule_many(
        session, [(kind, at, {**where, "payload": p}) for kind, at, p in wanted], now
    )
    return [at for _, at, _ in wanted]


def cancel_for_task(
    session: Session,
    task_id: str,
    now: datetime | None = None,
    *,
    by: str | None = None,
    resolution: str = "completed",
) -> int:
    """The task closed (completed or cancelled): cancel its timers, resolve its inbox items.

    Returns how many timers were cancelled. Every open escalation of the task (overdue, advice
    request, disagreement) is resolved: a manager's inbox empties by itself when the work is done.
    """
    cancelled = timers.cancel_for_task(session, task_id, kinds=TASK_TIMER_KINDS)
    resolve_task_escalations(session, task_id, now or datetime.now(UTC), by, resolution)
    return cancelled


def resolve_task_escalations(
    session: Session,
    task_id: str,
    now: datetime,
    by: str | None,
    resolution: str,
    kinds: tuple[str, ...] | None = None,
) -> int:
    """Resolve the open escalations of a task (of ``kinds``; all when ``None``); how many."""
    conditions = [Escalation.task_id == task_id, Escalation.status == "open"]
    if kinds is not None:
        conditions.append(Escalation.kind.in_(kinds))
    return session.execute(
        update(Escalation)
        .where(*conditions)
        .values(status="resolved", resolved_at=now, resolved_by=by, resolution=resolution)
        .execution_options(synchronize_session=False)
    ).rowcount


# -- who ----------------------------------------------------------------------------------------
def case_agencies(session: Session, task_row: Task) -> set[str]:
    """The agency in which the task's instance was started, and the task's second agency if it
    names one: a role scoped to one agency may take the task only there (tasks/parties.py), so
    only its holders there are told."""
    found = session.scalar(
        select(User.agency)
        .join(ProcessInstance, ProcessInstance.started_by == User.username)
        .where(ProcessInstance.id == task_row.instance_id, User.agency.is_not(None))
    )
    second = getattr(task_row, "other_agency", None)
    return {a for a in (found, second) if a}


def _holders(session: Session, roles: set[str], agencies: set[str] | None) -> list[str]:
    """Active users holding one of ``roles``; scoped roles only within ``agencies``."""
    users = session.execute(
        select(User.username, User.roles, User.agency).where(User.active.is_(True))
    ).all()
    chosen = []
    for username, user_roles, agency in users:
        for role in set(user_roles or ()) & roles:
            scoped = role in parties.AGENCY_SCOPED_ROLES
            if not scoped or (agencies is not None and agency in agencies):
                chosen.append(username)
                break
    return sorted(chosen)


def recipients(session: Session, task_row: Task) -> list[str]:
    """The assignee if active, else every candidate (see the module's docstring)."""
    if task_row.assignee:
        active = session.scalar(
            select(User.username).where(User.username == task_row.assignee, User.active.is_(True))
        )
        return [active] if active else []
    roles = set(task_row.candidate_roles or ())
    if not roles:
        return []
    return _holders(session, roles, case_agencies(session, task_row))


@dataclass(frozen=True)
class Target:
    """Whose inbox an escalation goes to: a person, or a role (within an agency)."""

    manager_username: str | None = None
    role: str | None = None
    agency: str | None = None


def managing_role(candidate_roles: list[str] | None) -> str:
    """The role whose holders can act on a step of these roles (the module's docstring)."""
    managing = {MANAGED_BY[r] for r in candidate_roles or () if r in MANAGED_BY}
    return next((r for r in MANAGING_ORDER if r in managing), "manager")


def escalation_targets(session: Session, task_row: Task) -> list[Target]:
    """Where an overdue task escalates to (rules in the module's docstring)."""
    role = managing_role(task_row.candidate_roles)
    assignee = None
    if task_row.assignee:
        assignee = session.scalars(select(User).where(User.username == task_row.assignee)).first()
    if assignee is not None and assignee.manager_id:
        manager = session.get(User, assignee.manager_id)
        if manager is not None and manager.active and role in (manager.roles or ()):
            return [Target(manager_username=manager.username)]
    if role not in parties.AGENCY_SCOPED_ROLES:
        return [Target(role=role)]
    if assignee is not None and assignee.agency:
        agencies = {assignee.agency}
    else:
        agencies = case_agencies(session, task_row)
    if not agencies:
        return [Target()]  # administrators only
    return [Target(role=role, agency=a) for a in sorted(agencies)]


def target_usernames(session: Session, target: Target) -> list[str]:
    if target.manager_username:
        return [target.manager_username]
    if target.role is None:
        return []
    return _holders(session, {target.role}, {target.agency} if target.agency else None)


# -- the timer handlers -------------------------------------------------------------------------
Handler = Callable[[UnitOfWork, Timer], None]


def make_handlers(
    mailer: notify.Mailer,
    base_url: str,
    on_reminder: Callable[[str], None] | None = None,
    policy: ReminderPolicy | None = None,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Handler]:
    """``{"task_reminder": …, "task_due": …}`` for ``TimerScheduler(handlers=…)``.

    ``on_reminder(channel)`` is called once per reminder sent (``in_app`` when the rows commit,
    ``email`` per email delivered) — the service passes ``metrics.count_reminder``. ``clock``
    gives the time for ``emailed_at``; notification times are the timer's due time, so a late
    firing still says when the moment was.
    """
    policy = policy or ReminderPolicy()
    now_of = clock or (lambda: datetime.now(UTC))

    def tell(uow: UnitOfWork, rows: list, counted: bool) -> None:
        outgoing = notify.outgoing_for(uow.session, rows, base_url)
        if counted and on_reminder is not None and rows:
            sent = len(rows)
            uow.on_commit(lambda: _count(on_reminder, "in_app", sent))
        notify.email_on_commit(uow, mailer, outgoing, now_of, on_reminder if counted else None)

    def open_task(uow: UnitOfWork, timer: Timer) -> Task | None:
        task = uow.session.get(Task, timer.task_id) if timer.task_id else None
        return task if task is not None and task.status == "open" else None

    def on_reminder_timer(uow: UnitOfWork, timer: Timer) -> None:
        task = open_task(uow, timer)
        if task is None or task.due_at is None:
            return
        stage = (timer.payload or {}).get("stage", "halfway")
        when = policy.when(task.due_at)
        title = (
            f"Reminder: '{task.name or task.element_id}' is due now ({when})"
            if stage == "due"
            else f"Reminder: '{task.name or task.element_id}' is due {when}"
        )
        rows = notify.notify(
            uow.session,
            recipients(uow.session, task),
            "reminder",
            title,
            timer.due_at,
            task_id=task.id,
            instance_id=task.instance_id,
            link=notify.task_link(task.id),
        )
        tell(uow, rows, counted=True)

    def on_due_timer(uow: UnitOfWork, timer: Timer) -> None:
        task = open_task(uow, timer)
        if task is None or task.due_at is None or task.due_at > timer.due_at:
            return  # closed, or the due time moved later (its own timer will come)
        name = task.name or task.element_id
        when = policy.when(task.due_at)
        link = notify.task_link(task.id)
        rows = notify.notify(
            uow.session,
            recipients(uow.session, task),
            "overdue",
            f"Overdue: '{name}' was due {when}",
            timer.due_at,
            task_id=task.id,
            instance_id=task.instance_id,
            link=link,
        )
        tell(uow, rows, counted=True)
        escalate_overdue(uow, task, timer.due_at, name, when, tell)

    return {REMINDER: on_reminder_timer, DUE: on_due_timer}


def _count(on_reminder: Callable[[str], None], channel: str, n: int) -> None:
    for _ in range(n):
        on_reminder(channel)


def escalate_overdue(uow: UnitOfWork, task: Task, now: datetime, name: str, when: str, tell):
    """Open one ``overdue_task`` escalation per target (unless one is already open) and tell
    the managers it reached."""
    session = uow.session
    already = session.scalar(
        select(Escalation.id).where(
            Escalation.task_id == task.id,
            Escalation.kind == "overdue_task",
            Escalation.status == "open",
        )
    )
    if already is not None:
        return
    managers: set[str] = set()
    for target in escalation_targets(session, task):
        session.add(
            Escalation(
                id=new_id(),
                kind="overdue_task",
                task_id=task.id,
                instance_id=task.instance_id,
                manager_username=target.manager_username,
                role=target.role,
                agency=target.agency,
                since=now,
                due_at=task.due_at,
                status="open",
            )
        )
        managers.update(target_usernames(session, target))
    managers.discard(task.assignee)  # told "Overdue" already; nobody escalates to themselves
    session.flush()
    rows = notify.notify(
        session,
        managers,
        "escalation",
        f"Escalation: '{name}' is overdue (was due {when})",
        now,
        task_id=task.id,
        instance_id=task.instance_id,
        link="/inbox",
    )
    tell(uow, rows, counted=False)
