"""Deliver a BPMN message a caller sends to an instance.

Only messages the diagram marks external (``tasks.inputs.check_message``): the others, such as
``consent_withdrawn``, the service delivers itself after recording what they say.
"""

from __future__ import annotations

from typing import Any

from service.casework.after import after_step
from service.casework.desk import Desk
from service.casework.instance_checks import instance_at
from service.errors import ApiError
from storage.models import ProcessInstance
from storage.uow import UnitOfWork
from tasks import inputs
from tasks.parties import Viewer
from workflows.events import Advance


def deliver_message(
    desk: Desk,
    unit: UnitOfWork,
    actor: Viewer,
    instance_id: str,
    name: str,
    payload: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> Advance:
    """Deliver ``name`` to the instance as ``actor``, with its effects (not committed)."""
    instance_at(unit, instance_id, expected_version)
    row = unit.session.get(ProcessInstance, instance_id)
    if row is None:
        raise ApiError(404, "not_found", f"process instance {instance_id} does not exist")
    if row.status == "running":  # else the engine's 409: nothing to deliver to
        spec, _ = desk.engine.specs.get(unit.session, row.definition_id)
        inputs.check_message(spec, name)
    advance = desk.engine.deliver_message(unit, instance_id, name, payload)
    return after_step(desk, unit, advance, actor)
