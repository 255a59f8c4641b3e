"""Give a claimed task back, so that another holder of its role may take it."""

from __future__ import annotations

from service.casework.desk import Desk
from storage.models import Task
from storage.uow import UnitOfWork
from tasks import work
from tasks.parties import Viewer


def unclaim(
    desk: Desk, unit: UnitOfWork, actor: Viewer, task_id: str, expected_version: int | None = None
) -> Task:
    """The task, back with its candidates (not committed). ``desk`` for a uniform signature."""
    del desk
    return work.unclaim(unit.session, task_id, actor, expected_version)
