"""What follows an engine advance, in the same transaction: timers, reminders, hand-offs.

Every caller that advances an instance (start, complete, message, cancel, migrate, a timer)
hands the :class:`~workflows.events.Advance` here, so no path forgets to arm a reminder or to
clear a manager's inbox when the work is done. (Who is a party needs nothing here: it is read
off the task rows, tasks/parties.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from storage.uow import UnitOfWork
from tasks import assignment, disagreements, inbox, parties, reminders, timers
from workflows.errors import Conflict, NotFound
from workflows.events import Advance


def after_advance(
    uow: UnitOfWork,
    advance: Advance,
    now: datetime,
    rearm: Callable[[datetime], None] | None = None,
    policy: reminders.ReminderPolicy | None = None,
    by: str | None = None,
) -> None:
    """Record what ``advance`` implies; ``rearm(earliest due)`` runs after the commit."""
    session = uow.session
    assignment.settle_assignees(session, advance)  # before anyone is told or made a party
    row = advance.instance
    due_times: list[datetime] = []
    for task_id in advance.closed:
        reminders.cancel_for_task(session, task_id, now, by=by)
    if advance.ended:
        timers.cancel_for_instance(session, row.id)
        inbox.resolve_for_instance(session, row.id, by, f"instance {row.status}", now)
        disagreements.after_advance(session, advance, now)  # its outcome, after the clearing
        return
    for task in advance.opened:
        due_times += reminders.schedule_for_task(session, task, now, policy)
    due_times += [
        t.due_at for t in timers.sync_bpmn_timers(session, row.id, advance.timers, now=now)
    ]
    disagreements.after_advance(session, advance, now)
    if rearm is not None and due_times:
        earliest = min(due_times)
        uow.on_commit(lambda: rearm(earliest))


def start_from_messages(
    uow: UnitOfWork,
    engine,
    advance: Advance,
    starts: Mapping[str, str],
    started_by: str | None,
    now: datetime,
) -> list[Advance]:
    """Start the instances that ``advance``'s thrown messages call for, for the same child.

    A message like ``start_referral`` (``starts`` maps it to a process key) is how a diagram
    says "this must go to children's social care": nobody can skip it, so a process that is
    not deployed fails the step instead of losing the referral.
    """
    started = []
    for message in advance.messages:
        key = starts.get(message.name)
        if key is None:
            continue
        row = advance.instance
        child = parties.case_of_instance(uow.session, row.id) if row.business_key is None else None
        child = row.business_key or child
        try:
            new = engine.start(
                uow,
                key,
                business_key=child,
                variables=message.payload,
                # A step a timer advanced has no person: the source's starter owns the hand-off.
                started_by=started_by or row.started_by,
                started_from=row.id,
            )
        except NotFound:
            raise Conflict(
                f"this step must start a {key!r} process, which is not deployed: "
                "ask a process owner to deploy it"
            ) from None
        started.append(new)
    return started
