"""Cancel an instance, with a reason: its open work closed, its timers and inbox items cleared."""

from __future__ import annotations

from service.casework.after import after_step
from service.casework.desk import Desk
from service.casework.instance_checks import instance_at
from storage.uow import UnitOfWork
from tasks.parties import Viewer
from workflows.events import Advance


def cancel(
    desk: Desk,
    unit: UnitOfWork,
    actor: Viewer,
    instance_id: str,
    reason: str,
    expected_version: int | None = None,
) -> Advance:
    """Cancel the instance as ``actor``, with its effects (not committed)."""
    instance_at(unit, instance_id, expected_version)
    advance = desk.engine.cancel(unit, instance_id, reason)
    return after_step(desk, unit, advance, actor)
