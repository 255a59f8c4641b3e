"""By when a user task is due: the diagram's ``camunda:dueDate``, read as the case stands.

Three forms (``docs/design.md``, "Due times"):

- a literal: ``1WD``, ``4WH``, ``same-day`` or an ISO 8601 duration, counted from when the task
  opens;
- an expression, ``=`` then Python over the task's data (``='same-day' if urgent else '2WD'``):
  the protocol's timescales follow the answers (the MASH rating sets the response's). It runs in
  the diagram sandbox; a name the data does not hold reads as ``None`` (a question not asked on
  this path). Whatever goes wrong — it fails, or gives something that is not a literal due time —
  the task still opens, due at the shortest safe reading, ``same-day``, and a warning names the
  element: a diagram's mistake must never stop a step nor leave a task with no due time;
- an anchor, the task property ``due_from``: the due time is counted from when that earlier user
  task of the same instance was last completed (``start``: the instance's start), so a clock that
  starts at the referral keeps running however late the decision was. The engine's task policy
  has no database, so the policy notes which tasks are anchored (:func:`remember`) and
  :func:`settle_due_times`, run by ``tasks.effects.after_advance`` in the same transaction before
  any reminder is scheduled, moves their ``due_at``. A step never completed counts from now.
"""

from __future__ import annotations

import ast
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import isodate
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import ProcessInstance, Task
from tasks.calendar import WorkingCalendar
from workflows.bounds import DUE_EXPRESSION, DUE_FROM, DUE_FROM_START, DUE_PATTERN, due_problem
from workflows.events import Advance
from workflows.sandbox import SAFE_BUILTINS, check_source, make_script_engine

log = logging.getLogger(__name__)
SAFEST = "same-day"  # what a due time that cannot be read falls back to
_ENVIRONMENT = make_script_engine().environment


def due_time(due: str | None, created: datetime, calendar: WorkingCalendar) -> datetime | None:
    """``1WD``, ``4WH``, ``same-day`` or an ISO 8601 duration, counted from ``created``."""
    if not due:
        return None
    due = due.strip()
    if due == "same-day":
        return calendar.close_of_day(created)
    match = DUE_PATTERN.match(due)
    if match and match.group(1):
        amount, unit = int(match.group(1)), match.group(2)
        if unit == "WD":
            return calendar.add_working_days(created, amount)
        return calendar.add_working_hours(created, amount)
    return created + isodate.parse_duration(due)  # the validator let only these through


@lru_cache(maxsize=1024)
def _free_names(source: str) -> frozenset[str]:
    tree = check_source(source, "eval")
    return frozenset(
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    )


def evaluate_due(source: str, data: Mapping[str, Any]) -> Any:
    """Run a due-time expression in the sandbox over ``data``; unknown names read as None."""
    source = source.strip()
    names = dict(data)
    for name in _free_names(source):
        if name not in names and name not in SAFE_BUILTINS and name not in _ENVIRONMENT.globals:
            names[name] = None
    return _ENVIRONMENT.evaluate(source, names)


def due_form(spiff_task: Any) -> str | None:
    """The literal due time of a task as it opens: the diagram's, or its expression's result.

    Never raises: an expression that fails or gives no literal due time reads as ``same-day``.
    """
    due = spiff_task.task_spec.extensions.get("due")
    if not due or not due.strip().startswith(DUE_EXPRESSION):
        return due
    element = spiff_task.task_spec.bpmn_id
    try:
        result = evaluate_due(due.strip()[len(DUE_EXPRESSION) :], spiff_task.data)
    except Exception as err:  # noqa: BLE001 - any failure falls back; the step goes on
        log.warning(
            "due time of %s could not be computed (%s: %s): due %s",
            element,
            err.__class__.__name__,
            str(err)[:200],
            SAFEST,
        )
        return SAFEST
    if not isinstance(result, str) or due_problem(result) is not None:
        log.warning("due time of %s gave %.60r, not a due time: due %s", element, result, SAFEST)
        return SAFEST
    return result.strip()


def due_from(spiff_task: Any) -> str | None:
    """The step (or ``start``) the task's due time is counted from, if the diagram names one."""
    step = spiff_task.task_spec.extensions.get(DUE_FROM)
    return step.strip() if isinstance(step, str) and step.strip() else None


# task id → (literal due time, anchor step, calendar) of the anchored tasks the policy opened and
# settle_due_times has not seen yet. Bounded: an advance that is never settled (a conflict, a
# test driving the engine alone) must not make it grow.
_ANCHORED: OrderedDict[str, tuple[str, str, WorkingCalendar]] = OrderedDict()
_ANCHORED_LIMIT = 4096
_LOCK = threading.Lock()


def remember(task_id: str, form: str | None, step: str, calendar: WorkingCalendar) -> None:
    """Note that the task just opened is due ``form`` after ``step``, for the service side."""
    if not form:
        return
    with _LOCK:
        _ANCHORED[task_id] = (form, step, calendar)
        while len(_ANCHORED) > _ANCHORED_LIMIT:
            _ANCHORED.popitem(last=False)


def anchor_time(session: Session, instance_id: str, step: str) -> datetime | None:
    """When ``step`` of the instance was last completed (``start``: when it started)."""
    if step == DUE_FROM_START:
        return session.scalar(
            select(ProcessInstance.started_at).where(ProcessInstance.id == instance_id)
        )
    return session.scalar(
        select(Task.completed_at)
        .where(
            Task.instance_id == instance_id,
            Task.status == "completed",
            Task.element_id == step,
        )
        .order_by(Task.completed_at.desc())
        .limit(1)
    )


def settle_due_times(session: Session, advance: Advance) -> Advance:
    """Count each anchored task that opened from its anchor instead of from now; the advance
    with its opened tasks as their rows now stand.

    Called by ``tasks.effects.after_advance`` right after the rows were inserted and before
    reminders are scheduled from ``due_at``. Costs nothing for tasks without ``due_from``.
    """
    settled, moved = [], False
    for task in advance.opened:
        with _LOCK:
            noted = _ANCHORED.pop(task.id, None)
        due = None
        if noted is not None:
            form, step, calendar = noted
            anchor = anchor_time(session, task.instance_id, step)
            # A step never done on this path: counted from when the task opened.
            due = due_time(form, anchor, calendar) if anchor is not None else None
        if due is not None and due != task.due_at:
            session.execute(
                update(Task).where(Task.id == task.id, Task.status == "open").values(due_at=due),
                execution_options={"synchronize_session": False},
            )
            task, moved = replace(task, due_at=due.astimezone(UTC)), True
        settled.append(task)
    return advance.with_opened(settled) if moved else advance
