"""Close an inbox item with a written resolution: the API and the inbox page, one path."""

from __future__ import annotations

from service.casework.desk import Desk
from storage.models import Escalation
from storage.uow import UnitOfWork
from tasks import inbox
from tasks.parties import Viewer
from workflows.errors import InvalidInput


def resolve(
    desk: Desk, unit: UnitOfWork, actor: Viewer, escalation_id: str, resolution: str
) -> Escalation:
    """The item, closed by ``actor`` (not committed): ``NotFound`` unless it is addressed to
    them (no leak), ``InvalidInput`` without a resolution, ``Conflict`` if already closed."""
    row = inbox.find_for(unit.session, escalation_id, actor)
    if not resolution:
        raise InvalidInput("Write what was done", field="resolution")
    return inbox.resolve(unit.session, row, actor.username, resolution, desk.now())
