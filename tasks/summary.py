"""The case summary a task page shows: which child, which process and step, and the answers
already given in this instance, in the words of the forms they were given on.

Read from the task rows (each completed task keeps the answers it was completed with) and the
form declarations of the instance's own diagram version, so a label is the one the person saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Task
from tasks.forms import FormField, form_of


@dataclass(frozen=True)
class Answer:
    label: str
    value: str


@dataclass(frozen=True)
class Step:
    """One completed step of the instance and what was answered on it."""

    name: str
    completed_by: str | None
    completed_at: datetime | None
    answers: tuple[Answer, ...]


def shown(field: FormField, value: Any) -> str:
    """An answer as the form offered it: Yes/No, an option's label, or the text."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    for option in field.options or ():
        if option.id == value:
            return option.label
    return str(value)


def task_spec_of(workflow: Any, element_id: str) -> Any:
    found = workflow.spec.task_specs.get(element_id)
    if found is None:
        for spec in getattr(workflow, "subprocess_specs", {}).values():
            found = spec.task_specs.get(element_id)
            if found is not None:
                break
    return found


def earlier_answers(
    session: Session, workflow: Any, instance_id: str, hidden: frozenset[str] = frozenset()
) -> list[Step]:
    """The completed steps of an instance, oldest first, with their non-empty answers, less
    ``hidden`` (details only other steps' parties may see)."""
    rows = session.scalars(
        select(Task)
        .where(Task.instance_id == instance_id, Task.status == "completed")
        .order_by(Task.completed_at, Task.id)
    )
    steps = []
    for row in rows:
        data = row.data or {}
        spec = task_spec_of(workflow, row.element_id)
        fields = form_of(spec) if spec is not None else []
        answers = tuple(
            Answer(item.label, shown(item, data[item.id]))
            for item in fields
            if data.get(item.id) not in (None, "") and item.id not in hidden
        )
        steps.append(Step(row.name or row.element_id, row.completed_by, row.completed_at, answers))
    return steps
