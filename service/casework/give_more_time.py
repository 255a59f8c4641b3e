"""Give a task more time, with a reason: the API's extend and the inbox page's, one path.

The task's due time moves, its reminders are re-counted, its overdue escalation is resolved
with the reason (``tasks.inbox.extend_due``), and the scheduler wakes for the new timers once
they are committed.
"""

from __future__ import annotations

from datetime import datetime

from service.casework.desk import Desk
from storage.uow import UnitOfWork
from tasks import inbox
from tasks.parties import Viewer


def give_more_time(
    desk: Desk, unit: UnitOfWork, actor: Viewer, task_id: str, new_due: datetime, reason: str
) -> None:
    """Move ``task_id``'s due time for ``actor`` (not committed); ``NotFound``/``Conflict``
    for a task that is gone or closed."""
    written = inbox.extend_due(
        unit.session, task_id, new_due, reason, actor.username, desk.now(), desk.policy
    )
    scheduler = desk.services.scheduler
    if scheduler is not None and written:
        scheduler.rearm_on_commit(unit, min(written))
