"""Move an instance to another version of its definition (process owners, who need not be
party to it): the tasks the new version opens get their due times, timers and reminders."""

from __future__ import annotations

from collections.abc import Mapping

from service.casework.after import after_step
from service.casework.desk import Desk
from service.casework.instance_checks import instance_at
from storage.uow import UnitOfWork
from tasks.parties import Viewer
from workflows.events import Advance


def migrate(
    desk: Desk,
    unit: UnitOfWork,
    actor: Viewer,
    instance_id: str,
    to_version: int,
    expected_version: int | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Advance:
    """Migrate the instance as ``actor``, with its effects (not committed); ``mapping``
    (``{old_step_id: new_step_id}``) places steps the new version renamed or replaced."""
    instance_at(unit, instance_id, expected_version)
    advance = desk.engine.migrate(unit, instance_id, to_version, mapping)
    return after_step(desk, unit, advance, actor)
