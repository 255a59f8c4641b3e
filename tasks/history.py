"""What happened in an instance, oldest first: the API's history and the case view's timeline.

One function for both, so that a page and ``GET /api/process-instances/{id}/history`` never
tell a person two different stories. Built from the instance and task rows (no deserialising).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ProcessInstance, Task


class Event(TypedDict, total=False):
    at: datetime
    event: str  # started | task_opened | task_completed | completed | cancelled | error
    by: str | None
    task: str  # the element id of the step
    name: str | None  # the step's name as the diagram gives it


def events_of(session: Session, instance: ProcessInstance) -> list[Event]:
    """The instance's events: started, each step opened and completed, how it ended."""
    started: Event = {"at": instance.started_at, "event": "started", "by": instance.started_by}
    events = [started]
    tasks = session.scalars(
        select(Task).where(Task.instance_id == instance.id).order_by(Task.created_at)
    )
    for task in tasks:
        step: Event = {"task": task.element_id, "name": task.name}
        events.append({"at": task.created_at, "event": "task_opened", **step})
        if task.completed_at is not None:
            events.append(
                {"at": task.completed_at, "event": "task_completed", "by": task.completed_by} | step
            )
    if instance.ended_at is not None:
        events.append({"at": instance.ended_at, "event": instance.status})
    events.sort(key=lambda e: e["at"])
    return events


def taken_over_by(session: Session, task: Task) -> Task | None:
    """The step that took the work over from a cancelled ``task``: the first step of its
    instance opened after it (e.g. stage 2 of an escalation when stage 1 ran out of time).
    ``None`` when nothing opened after it, e.g. the instance was cancelled or ended."""
    return session.scalars(
        select(Task)
        .where(Task.instance_id == task.instance_id, Task.created_at > task.created_at)
        .order_by(Task.created_at)
        .limit(1)
    ).first()
