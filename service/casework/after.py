"""The one after-step routine: what follows any advance of an instance, in its transaction.

Every path that advances an instance - a start, a completed task, a delivered message, a
withdrawn consent, a cancel, a migration, and a timer firing - calls :func:`after_step`, so no
path forgets an effect: parties and due times settled, timers and reminders armed, the inbox
cleared, consents and register entries a script produced recorded, and the processes a thrown
message starts (hand-offs) or replies to (``tasks/effects.py``). Once this was written twice,
and the timer's copy skipped the consent hook.
"""

from __future__ import annotations

from records import consent, register
from service.casework.desk import Desk
from service.errors import ApiError
from storage.uow import UnitOfWork
from tasks import effects
from tasks.parties import Viewer
from workflows.events import Advance

# Key of ``UnitOfWork.scratch``: {instance id: its latest advance in the unit, as settled}.
ADVANCED = "casework.advanced"
# Who a step is recorded as taken by when no person took it.
TIMER = "timer"
# A chain of hand-offs deeper than this is a diagram loop, not casework.
DEEPEST = 3


def after_step(
    desk: Desk,
    unit: UnitOfWork,
    advance: Advance,
    actor: Viewer | None,
    firing: str | None = None,
    depth: int = 0,
) -> Advance:
    """Everything ``advance`` implies, as ``actor`` (``None``: a timer fired; ``firing`` is its
    row, left to its worker). A register entry the step cannot record refuses the step (422).

    Returns the advance as settled (its opened tasks as their rows stand), and keeps it as the
    instance's latest in ``unit`` (:func:`latest_advance`): a hand-off this step starts may
    answer back to the same instance in the same transaction, and an answer must show that."""
    by = actor.username if actor is not None else TIMER
    now = desk.now()
    advance = effects.after_advance(unit, advance, now, desk.rearm, desk.policy, by, firing=firing)
    unit.scratch.setdefault(ADVANCED, {})[advance.instance.id] = advance
    consent.after_advance(unit.session, advance, by, now)
    try:
        register.after_advance(unit.session, advance, by, now)
    except register.RegisterError as err:
        raise ApiError(
            422, "invalid_input", "The decision cannot be recorded.", err.problems
        ) from None
    if depth >= DEEPEST:
        return advance
    config = desk.config
    starts, replies = config["MESSAGE_STARTS"], config["MESSAGE_REPLIES"]
    started_by = actor.username if actor is not None else None
    for follow in effects.follow_messages(
        unit, desk.engine, advance, starts, replies, started_by, now
    ):
        after_step(desk, unit, follow, actor, None, depth + 1)
    return advance


def latest_advance(unit: UnitOfWork, instance_id: str) -> Advance | None:
    """The last advance of ``instance_id`` in ``unit`` that went through :func:`after_step`."""
    return unit.scratch.get(ADVANCED, {}).get(instance_id)
