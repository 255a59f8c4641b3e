"""What follows an engine advance, in the same transaction: timers, reminders, hand-offs, replies.

Every caller that advances an instance (start, complete, message, cancel, migrate, a timer)
hands the :class:`~workflows.events.Advance` here, so no path forgets to arm a reminder or to
clear a manager's inbox when the work is done. (Who is a party needs nothing here: it is read
off the task rows, tasks/parties.py.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import datetime

from storage.models import ProcessInstance
from storage.uow import UnitOfWork
from tasks import assignment, disagreements, due, inbox, reminders, timers
from workflows.errors import Conflict, NotFound
from workflows.events import Advance

log = logging.getLogger(__name__)


def after_advance(
    uow: UnitOfWork,
    advance: Advance,
    now: datetime,
    rearm: Callable[[datetime], None] | None = None,
    policy: reminders.ReminderPolicy | None = None,
    by: str | None = None,
    firing: str | None = None,
) -> Advance:
    """Record what ``advance`` implies; ``rearm(earliest due)`` runs after the commit.
    ``firing``: the id of the timer row whose firing made the advance (left to its worker).

    Returns the advance with its opened tasks as settled here (default assignee, anchored due
    time): what their rows now hold, for the answer."""
    session = uow.session
    # Before anyone is told or made a party, and before reminders are counted from due_at.
    advance = due.settle_due_times(session, assignment.settle_assignees(session, advance))
    row = advance.instance
    due_times: list[datetime] = []
    for task_id in advance.closed:
        reminders.cancel_for_task(session, task_id, now, by=by)
    if advance.ended:
        timers.cancel_for_instance(session, row.id, keep=firing)
        inbox.resolve_for_instance(session, row.id, by, f"instance {row.status}", now)
        disagreements.after_advance(session, advance, now)  # its outcome, after the clearing
        return advance
    for task in advance.opened:
        due_times += reminders.schedule_for_task(session, task, now, policy, fresh=True)
    # A BPMN timer row exists only for a timer the instance waited on at an earlier step (every
    # step reconciles them, an end cancels them all): waiting on none before or after, there is
    # nothing to reconcile and the read is skipped.
    if advance.timers or advance.had_timers:
        added = timers.sync_bpmn_timers(session, row.id, advance.timers, now=now)
        due_times += [t.due_at for t in added]
    disagreements.after_advance(session, advance, now)
    if rearm is not None and due_times:
        earliest = min(due_times)
        uow.on_commit(lambda: rearm(earliest))
    return advance


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
        try:
            new = engine.start(
                uow,
                key,
                business_key=advance.case_key,
                variables=message.payload,
                # The source's starter owns the hand-off (processes.md: a referral started from
                # information_sharing is "assigned to the same practitioner"), whoever did the
                # step that threw it (a DSL's assessment, a manager's check, a timer).
                started_by=row.started_by or started_by,
                started_from=row.id,
            )
        except NotFound:
            raise Conflict(
                f"this step must start a {key!r} process, which is not deployed: "
                "ask a process owner to deploy it"
            ) from None
        started.append(new)
    return started


def deliver_replies(
    uow: UnitOfWork, engine, advance: Advance, replies: Collection[str]
) -> list[Advance]:
    """Deliver ``advance``'s thrown replies (a name in ``replies``, e.g. ``escalation_outcome``)
    to the instance it was started from, if that instance waits for them.

    A reply answers the hand-off that started this instance (a referral waits for the outcome
    of the escalation its challenge started), so it goes to ``started_from`` and nowhere else:
    no diagram can address another child's case. One that finds nobody waiting (the source
    ended, moved on, or never waits for it) is dropped with a log line: the outcome stays on
    this instance's own record, and a late answer must not fail the step that gave it.
    """
    delivered = []
    row = advance.instance
    for message in advance.messages:
        if message.name not in replies:
            continue
        source = row.started_from
        exists = source is not None and uow.session.get(ProcessInstance, source) is not None
        reply = None
        if exists:
            reply = engine.deliver_message(
                uow, source, message.name, message.payload, only_if_waiting=True
            )
        if reply is None:
            log.info(
                "reply %s from instance %s dropped: its source (%s) does not wait for it",
                message.name,
                row.id,
                source,
            )
            continue
        delivered.append(reply)
    return delivered


def follow_messages(
    uow: UnitOfWork,
    engine,
    advance: Advance,
    starts: Mapping[str, str],
    replies: Collection[str],
    started_by: str | None,
    now: datetime,
) -> list[Advance]:
    """The advances ``advance``'s thrown messages cause: instances started (hand-offs), then
    replies delivered to the source. The caller applies each one's own effects, in the same
    transaction, with a bounded depth (a chain deeper than a few is a diagram loop)."""
    started = start_from_messages(uow, engine, advance, starts, started_by, now)
    return started + deliver_replies(uow, engine, advance, replies)
