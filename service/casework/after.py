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
) -> None:
    """Everything ``advance`` implies, as ``actor`` (``None``: a timer fired; ``firing`` is its
    row, left to its worker). A register entry the step cannot record refuses the step (422)."""
    by = actor.username if actor is not None else TIMER
    now = desk.now()
    effects.after_advance(unit, advance, now, desk.rearm, desk.policy, by, firing=firing)
    consent.after_advance(unit.session, advance, by, now)
    try:
        register.after_advance(unit.session, advance, by, now)
    except register.RegisterError as err:
        raise ApiError(
            422, "invalid_input", "The decision cannot be recorded.", err.problems
        ) from None
    if depth >= DEEPEST:
        return
    config = desk.config
    starts, replies = config["MESSAGE_STARTS"], config["MESSAGE_REPLIES"]
    started_by = actor.username if actor is not None else None
    for follow in effects.follow_messages(
        unit, desk.engine, advance, starts, replies, started_by, now
    ):
        after_step(desk, unit, follow, actor, None, depth + 1)
