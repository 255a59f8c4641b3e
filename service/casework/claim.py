"""Claim a task: the step becomes the actor's, if it is still open, unclaimed and theirs to take."""

from __future__ import annotations

from service.casework.desk import Desk
from storage.models import Task
from storage.uow import UnitOfWork
from tasks import work
from tasks.parties import Viewer


def claim(
    desk: Desk, unit: UnitOfWork, actor: Viewer, task_id: str, expected_version: int | None = None
) -> Task:
    """The claimed task; ``Conflict`` if someone else got there first (not committed)."""
    return work.claim(unit.session, task_id, actor, desk.now(), expected_version)
