"""What follows an engine advance, in the same transaction: parties, timers, reminders.

Every caller that advances an instance (start, complete, message, cancel, migrate, a timer)
hands the :class:`~workflows.events.Advance` here, so no path forgets to arm a timer or to make
the new assignee a party to the case.
"""

from __future__ import annotations

from datetime import datetime

from storage.uow import UnitOfWork
from tasks import parties, timers
from workflows.events import Advance


def after_advance(uow: UnitOfWork, advance: Advance, now: datetime, rearm=None) -> None:
    """Record what ``advance`` implies; ``rearm(due_at)`` runs after the commit if given."""
    session = uow.session
    row = advance.instance
    key = parties.case_key(row.business_key, row.id) if row.business_key is not None else None
    if key is None and any(task.assignee for task in advance.opened):
        key = parties.case_of_instance(session, row.id) or row.id
    for task in advance.opened:
        if task.assignee:
            parties.add_party(session, key, task.assignee, "assigned", now)
    for task_id in advance.closed:
        timers.cancel_for_task(session, task_id)
    if advance.ended:
        timers.cancel_for_instance(session, row.id)
        return
    added = timers.sync_bpmn_timers(session, row.id, advance.timers, now=now)
    if rearm is not None and added:
        earliest = min(t.due_at for t in added)
        uow.on_commit(lambda: rearm(earliest))
