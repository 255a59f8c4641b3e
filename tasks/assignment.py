"""Who does a task and by when: what the diagram declares, turned into a task row's columns.

The engine calls :func:`make_task_policy`'s policy for every user task that opens, in the same
statement that inserts the row, so a task never exists without its due time or its assignee.
:func:`settle_assignees` then keeps a default assignee only if that person may do the task
(``tasks.effects.after_advance`` calls it first, in the same transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Task, User
from tasks import away
from tasks import due as due_times
from tasks.calendar import DEFAULT_CALENDAR, WorkingCalendar
from tasks.due import due_time
from workflows.events import Advance
from workflows.grants import OTHER_AGENCY_FROM, parse_assignee
from workflows.rules import AGENCIES

log = logging.getLogger(__name__)


# (definition id, element id) of a user task → the step whose performer it goes to, as the
# diagram says (``camunda:assignee="performer('step')"``). A deployed version never changes, so
# these facts stay true for the life of the process; the policy records one when the task opens,
# in this process, just before :func:`settle_assignees` reads it for the same advance.
_PERFORMER_STEPS: dict[tuple[str | None, str], str] = {}


def default_assignee(spiff_task: Any) -> str | None:
    """Whom ``camunda:assignee`` names, as far as the running workflow knows.

    ``initiator`` is whoever started the instance (kept on the workflow), so
    ``camunda:assignee="initiator"`` gives a step back to the referrer. ``performer("step")``
    is whoever completed that earlier step: the task table knows, not the workflow, so it is
    found by :func:`settle_assignees` once the row exists. Anything else (only a version deployed
    before these rules could say it) leaves the task to be claimed: opening a task never fails
    for want of an assignee.
    """
    parsed = parse_assignee(spiff_task.task_spec.extensions.get("assignee"))
    if parsed is None:
        return None
    kind, step = parsed
    top = spiff_task.workflow.top_workflow
    if kind == "initiator":
        value = top.data.get("initiator")
        return value if isinstance(value, str) and value else None
    _PERFORMER_STEPS[(getattr(top, "spec_ref", None), spiff_task.task_spec.bpmn_id)] = step
    return None


def performer(session: Session, instance_id: str, step: str) -> str | None:
    """Who completed ``step`` of the instance last (``ix_task_instance_status``)."""
    return session.scalar(
        select(Task.completed_by)
        .where(
            Task.instance_id == instance_id,
            Task.status == "completed",
            Task.element_id == step,
        )
        .order_by(Task.completed_at.desc())
        .limit(1)
    )


def settle_assignees(session: Session, advance: Advance) -> Advance:
    """Give each task that opened its default assignee only if that person may do it; the
    advance with its opened tasks as their rows now stand.

    Called right after the task rows were inserted, in the same transaction. A default assignee
    (``initiator`` or a step's performer) who is not an active user holding one of the task's
    candidate roles — an administrator who started a case, a practitioner who has since moved to
    the board — would see the case only because a diagram said so: the task goes to the pool
    instead. A default assignee who is away the day the step opens is first replaced by their
    cover (``tasks/away.py``), who is checked the same way. Costs nothing for tasks without
    ``camunda:assignee``; one query for the performer of each ``performer(...)`` task, one for
    who is away, one for the roles of everyone named.
    """
    definition_id = advance.instance.definition_id
    wanted: dict[str, str | None] = {}
    for task in advance.opened:
        step = _PERFORMER_STEPS.get((definition_id, task.element_id))
        if task.assignee:
            wanted[task.id] = task.assignee
        elif step is not None:
            wanted[task.id] = performer(session, task.instance_id, step)
    if not wanted:
        return advance
    wanted = _covered(session, wanted, advance.opened)
    names = {name for name in wanted.values() if name}
    roles: dict[str, list[str]] = {}
    if names:
        found = select(User.username, User.roles).where(
            User.username.in_(names), User.active.is_(True)
        )
        roles = {name: list(held or ()) for name, held in session.execute(found)}
    settled = []
    for task in advance.opened:
        if task.id not in wanted:
            settled.append(task)
            continue
        name = wanted[task.id]
        keep = name if name and set(roles.get(name, ())) & set(task.candidate_roles) else None
        if keep != task.assignee:
            if name and keep is None:
                pool = "default assignee %s may not do %s: left to the pool"
                log.info(pool, name, task.element_id)
            session.execute(
                update(Task).where(Task.id == task.id, Task.status == "open").values(assignee=keep),
                execution_options={"synchronize_session": False},
            )
            task = replace(task, assignee=keep)
        settled.append(task)
    return advance.with_opened(settled)


def _covered(session: Session, wanted: dict[str, str | None], opened: Any) -> dict[str, str | None]:
    """The same, with each default assignee who is away on the day the step opens replaced by
    their cover (``tasks/away.py``; ``None``: no cover that day, the pool). One query."""
    names = {name for name in wanted.values() if name}
    if not names:
        return wanted
    first = next((task for task in opened if task.id in wanted), None)
    when = first.created_at if first is not None and first.created_at else datetime.now(UTC)
    covering = away.covers(session, names, away.day_of(when))
    if not covering:
        return wanted
    for name, cover in covering.items():
        log.info("%s is away: their new steps go to %s", name, cover or "the pool")
    return {
        task_id: (covering.get(name, name) if name else None) for task_id, name in wanted.items()
    }


def second_agency(spiff_task: Any, agencies: frozenset[str] = AGENCIES) -> str | None:
    """The agency a task's ``other_agency_from`` names, read from the task's data as it opens.

    The deploy check (``workflows.grants``) made sure the field is an enum of agencies answered
    earlier; the value is checked again here, because data can also arrive in a start payload
    or a message: anything but an agency id grants nothing (the task stays with the starter's
    agency).
    """
    name = spiff_task.task_spec.extensions.get(OTHER_AGENCY_FROM)
    if not name:
        return None
    value = spiff_task.data.get(name)
    if isinstance(value, str) and value in agencies:
        return value
    log.info("%s: %s is not an agency; no second agency", spiff_task.task_spec.bpmn_id, name)
    return None


def make_task_policy(calendar: WorkingCalendar = DEFAULT_CALENDAR):
    """The engine's ``task_policy``: due time in working time, the default assignee and the
    second agency that may take the task (``other_agency_from``, :func:`second_agency`).

    The due time is the diagram's, or what its expression gives for the case's answers
    (``tasks/due.py``), counted from now; a task anchored by ``due_from`` is noted so that
    :func:`tasks.due.settle_due_times` counts it from its anchor in the same transaction.
    """

    def policy(spiff_task: Any, now: datetime) -> Mapping[str, Any]:
        form = due_times.due_form(spiff_task)
        step = due_times.due_from(spiff_task)
        if step is not None:
            due_times.remember(str(spiff_task.id), form, step, calendar)
        return {
            "due_at": due_time(form, now, calendar),
            "assignee": default_assignee(spiff_task),
            "other_agency": second_agency(spiff_task),
        }

    return policy


__all__ = ["default_assignee", "due_time", "make_task_policy", "performer", "settle_assignees"]
