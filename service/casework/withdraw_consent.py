"""Record that a consent was withdrawn, and tell the child's running instances that wait for it
(``consent_withdrawn``): each such advance goes through the after-step routine."""

from __future__ import annotations

from records import consent as register
from service.casework.after import after_step
from service.casework.consent_case import require_case
from service.casework.desk import Desk
from service.errors import ApiError
from storage.models import Consent
from storage.uow import UnitOfWork
from tasks.parties import Viewer


def withdraw_consent(
    desk: Desk, unit: UnitOfWork, actor: Viewer, consent_id: str, reason: str
) -> Consent:
    """The consent, withdrawn by ``actor`` (not committed); 404 for one ``actor`` may not see,
    ``Conflict`` if it was withdrawn already."""
    row = unit.session.get(Consent, consent_id)
    if row is None:
        raise ApiError(404, "not_found", f"consent {consent_id} does not exist")
    require_case(desk, unit, actor, row.business_key)
    row, advances = register.withdraw(
        desk.engine, unit, consent_id, by=actor.username, reason=reason, now=desk.now()
    )
    for advance in advances:
        after_step(desk, unit, advance, actor)
    desk.note(detail={"consent_id": row.id, "instances_told": len(advances)})
    return row
