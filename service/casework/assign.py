"""A manager gives a task to someone: the API's assign and the inbox page's reassign, one path.

The task's overdue escalation is resolved by that (``tasks.inbox.reassign``).
"""

from __future__ import annotations

from service.casework.desk import Desk
from storage.models import Task
from storage.uow import UnitOfWork
from tasks import inbox
from tasks.parties import Viewer


def assign(
    desk: Desk,
    unit: UnitOfWork,
    actor: Viewer,
    task_id: str,
    username: str,
    expected_version: int | None = None,
) -> Task:
    """The task, now ``username``'s (not committed); ``InvalidInput`` for someone who may not
    do it, ``Conflict`` if it is no longer open."""
    return inbox.reassign(unit.session, task_id, username, actor, desk.now(), expected_version)
