"""Both agencies resolve a professional disagreement (``escalation``, issue 15): who hears of it.

The diagram decides who may *do* each stage (its lanes, and ``other_agency_from`` for the
second agency, bounded in workflows/grants.py). What this module adds, after every advance of
an escalation and in the same transaction, is who is *told*:

- a stage opens (2, 3 or 4): an item in the inbox of that stage's managers - stage 2 the
  raiser's line manager (or, without one, the managers of the raiser's agency) and the other
  agency's managers; stage 3 both agencies' DSLs; stage 4 its role (``csc_manager``);
- stage 3 is completed: its written escalation notice is copied to the partnership's business
  manager (``board``) as a notification and an inbox item. The item holds only the notice, the
  stage and the two agencies (``Escalation.details``) and no task: the board does no casework
  and reads no case (docs/security.md, "The board's copy of a stage-3 notice");
- the escalation ends (it throws ``escalation_outcome``): the outcome goes to the person who
  raised it and to the other agency - whoever of that agency took part, else that agency's
  managers - as in-app notifications (their ``body``, never emailed, holds the outcome).

These are the service's rules for the step ids of the shipped diagram (processes.md's data
dictionary is a contract), not something a diagram can ask for: nothing a diagram says decides
who is told here beyond naming the other agency, which is checked against the vocabulary.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import ProcessInstance, Task, User
from tasks import inbox, notify
from tasks.assignment import performer
from workflows.events import Advance, InstanceFacts, OpenedTask
from workflows.roles import ESCALATION_STAGE_ROLES, NOTICE_ROLE
from workflows.rules import AGENCIES

PROCESS = "escalation"
RAISED_AT = "describe_disagreement"
STAGES = {f"resolve_stage{n}": n for n in (1, 2, 3, 4)}
STAGE_ROLES = ESCALATION_STAGE_ROLES
NOTICE_STEP = "resolve_stage3"
NOTICE_KIND = "escalation_notice"
OUTCOME_MESSAGE = "escalation_outcome"
BOARD_ROLE = NOTICE_ROLE


def after_advance(session: Session, advance: Advance, now: datetime) -> None:
    """Tell the people above what this advance of an escalation calls for (nothing for other
    processes)."""
    row = advance.instance
    if row.process_key != PROCESS:
        return
    for task in advance.opened:
        n = STAGES.get(task.element_id)
        if n in STAGE_ROLES:
            _raise_stage(session, row, task, n, now)
    if advance.closed:
        done = session.scalars(
            select(Task).where(
                Task.id.in_(advance.closed),
                Task.element_id == NOTICE_STEP,
                Task.status == "completed",
            )
        ).all()
        for task in done:
            _copy_notice_to_board(session, row, task, now)
    for message in advance.messages:
        if message.name == OUTCOME_MESSAGE:
            _tell_outcome(session, row, message.payload, now)


# An instance's row or its facts after an advance: only their shared attributes are read.
Instance = ProcessInstance | InstanceFacts


def raiser(session: Session, instance: Instance) -> User | None:
    """Who described the disagreement (else who started the instance)."""
    name = performer(session, instance.id, RAISED_AT) or instance.started_by
    if not name:
        return None
    return session.scalars(select(User).where(User.username == name)).first()


def other_agency(session: Session, instance_id: str) -> str | None:
    """The agency the stages named as the other side (stored on their task rows)."""
    found = session.scalar(
        select(Task.other_agency)
        .where(Task.instance_id == instance_id, Task.other_agency.is_not(None))
        .order_by(Task.created_at.desc())
        .limit(1)
    )
    return found if found in AGENCIES else None


def stage_addressees(session: Session, instance: Instance, n: int) -> list[dict[str, str | None]]:
    """Whose inbox a disagreement at stage ``n`` goes to: a person or a role in an agency."""
    role = STAGE_ROLES[n]
    if n == 4:
        return [{"role": role, "agency": None}]
    who = raiser(session, instance)
    own = who.agency if who is not None else None
    targets: list[dict[str, str | None]] = []
    manager = session.get(User, who.manager_id) if who is not None and who.manager_id else None
    if n == 2 and manager is not None and manager.active:
        targets.append({"manager_username": manager.username})
    elif own:
        targets.append({"role": role, "agency": own})
    theirs = other_agency(session, instance.id)
    if theirs and {"role": role, "agency": theirs} not in targets:
        targets.append({"role": role, "agency": theirs})
    return targets


def _raise_stage(
    session: Session, instance: Instance, task: OpenedTask, n: int, now: datetime
) -> None:
    for target in stage_addressees(session, instance, n):
        inbox.raise_item(
            session,
            "disagreement",
            now,
            task_id=task.id,
            instance_id=instance.id,
            due_at=task.due_at,
            manager_username=target.get("manager_username"),
            role=target.get("role"),
            agency=target.get("agency"),
        )


def _agencies(session: Session, instance: Instance) -> list[str]:
    who = raiser(session, instance)
    found = [who.agency if who is not None else None, other_agency(session, instance.id)]
    return [a for a in found if a]


def _copy_notice_to_board(session: Session, instance: Instance, task: Task, now: datetime) -> None:
    answers = task.data or {}
    notice = answers.get("escalation_notice")
    if not isinstance(notice, str) or not notice.strip():
        return
    agencies = _agencies(session, instance)
    details = {
        "stage": 3,
        "agencies": agencies,
        "notice": notice[: inbox.MAX_RESOLUTION],
        "resolved": bool(answers.get("resolved")),
    }
    # No task: the board may not open the stage (it does no casework); the instance id is kept
    # only so that the retention purge finds the item.
    inbox.raise_item(
        session, NOTICE_KIND, now, instance_id=instance.id, role=BOARD_ROLE, details=details
    )
    people = session.execute(select(User.username, User.roles).where(User.active.is_(True)))
    members = [name for name, roles in people if BOARD_ROLE in (roles or ())]
    between = " and ".join(a.replace("_", " ") for a in agencies) or "two agencies"
    notify.notify(
        session,
        members,
        "info",
        f"Stage 3 escalation notice: a disagreement between {between}",
        now,
        link="/inbox",
        body=details["notice"],
    )


def outcome_recipients(session: Session, instance: Instance) -> list[str]:
    """The raiser and the other agency: whoever of it took part (held or did a task of this
    escalation), else the active managers of that agency."""
    who = raiser(session, instance)
    names = {who.username} if who is not None and who.active else set()
    theirs = other_agency(session, instance.id)
    if theirs:
        took_part = session.scalars(
            select(User.username)
            .join(
                Task,
                or_(Task.completed_by == User.username, Task.assignee == User.username),
            )
            .where(Task.instance_id == instance.id, User.agency == theirs, User.active.is_(True))
        ).all()
        if not took_part:
            people = session.execute(
                select(User.username, User.roles).where(
                    User.agency == theirs, User.active.is_(True)
                )
            ).all()
            took_part = [name for name, roles in people if "manager" in (roles or ())]
        names |= set(took_part)
    return sorted(names)


def _tell_outcome(session: Session, instance: Instance, payload: dict, now: datetime) -> None:
    stage = payload.get("stage")
    resolution = payload.get("resolution")
    title = f"Disagreement: outcome at stage {stage}" if stage else "Disagreement: outcome"
    body = f"Outcome and learning: {resolution}" if isinstance(resolution, str) else None
    if body is not None and instance.started_from and "upheld" in payload:
        body += " The challenge to the referral decision is " + (
            "upheld." if payload.get("upheld") else "not upheld."
        )
    notify.notify(
        session,
        outcome_recipients(session, instance),
        "info",
        title,
        now,
        instance_id=instance.id,
        body=body,
    )
