"""Who does a task and by when: what the diagram declares, turned into a task row's columns.

The engine calls :func:`make_task_policy`'s policy for every user task that opens, in the same
statement that inserts the row, so a task never exists without its due time or its assignee.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import isodate

from tasks.calendar import DEFAULT_CALENDAR, WorkingCalendar

log = logging.getLogger(__name__)
_DUE = re.compile(r"^(\d+)\s*(WD|WH)$")


def due_time(due: str | None, created: datetime, calendar: WorkingCalendar) -> datetime | None:
    """``1WD``, ``4WH``, ``same-day`` or an ISO 8601 duration, counted from ``created``."""
    if not due:
        return None
    due = due.strip()
    if due == "same-day":
        return calendar.close_of_day(created)
    match = _DUE.match(due)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if unit == "WD":
            return calendar.add_working_days(created, amount)
        return calendar.add_working_hours(created, amount)
    return created + isodate.parse_duration(due)  # the validator let only these through


def default_assignee(spiff_task: Any) -> str | None:
    """``camunda:assignee`` is an expression over the task's data, plus ``initiator``.

    ``initiator`` is whoever started the instance, so ``camunda:assignee="initiator"`` gives a
    step back to the referrer. An expression that fails or yields nothing leaves the task to be
    claimed, because opening a task must never fail for want of an assignee.
    """
    expression = spiff_task.task_spec.extensions.get("assignee")
    if not expression:
        return None
    workflow = spiff_task.workflow
    context = {"initiator": workflow.data.get("initiator")}
    try:
        value = workflow.script_engine.evaluate(spiff_task, expression, external_context=context)
    except Exception as err:  # noqa: BLE001 - any failure means "nobody in particular"
        log.warning("assignee expression of %s failed: %s", spiff_task.task_spec.bpmn_id, err)
        return None
    return value if isinstance(value, str) and value else None


def make_task_policy(calendar: WorkingCalendar = DEFAULT_CALENDAR):
    """The engine's ``task_policy``: due time in working time and the default assignee."""

    def policy(spiff_task: Any, now: datetime) -> Mapping[str, Any]:
        extensions = spiff_task.task_spec.extensions
        return {
            "due_at": due_time(extensions.get("due"), now, calendar),
            "assignee": default_assignee(spiff_task),
        }

    return policy
