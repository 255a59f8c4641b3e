"""Complete a task with the answers to its form: the one path the API and the task page share.

The consent on record for a process that reads it is put beside the answers (never a caller's
value), the answers are checked against the step's form, the instance moves on, and the
after-step routine runs - all in the caller's unit of work, which it commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from records import consent
from service.casework.after import after_step
from service.casework.desk import Desk
from storage.models import Task
from storage.uow import UnitOfWork
from tasks import work
from tasks.parties import Viewer
from workflows.events import Advance


@dataclass(frozen=True)
class Completed:
    """What completing a task did, and whether the step withheld the child's identity (its
    doer then learns only that the step was taken, not how the case stands)."""

    advance: Advance
    identity_withheld: bool


def complete(
    desk: Desk,
    unit: UnitOfWork,
    actor: Viewer,
    task_id: str,
    answers: Mapping[str, Any],
    expected_version: int | None = None,
) -> Completed:
    """Complete ``task_id`` as ``actor``; ``FormInvalid`` or ``Conflict`` leave the step as it
    was once the caller rolls back."""
    owned = consent.step_variables(unit.session, task_id, desk.consent_on_record)
    # Through the identity map: access read the task with its need-to-know check.
    task = unit.session.get(Task, task_id)
    withheld = task is not None and task.identity_withheld
    advance = work.complete(desk.engine, unit, task_id, answers, actor, expected_version, owned)
    return Completed(after_step(desk, unit, advance, actor), bool(withheld))
