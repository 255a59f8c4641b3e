"""Record that a consent was withdrawn, and tell the child's running instances that wait for it
(``consent_withdrawn``): each such advance goes through the after-step routine."""

from __future__ import annotations

from records import consent as register
from service.casework.after import after_step
from service.casework.consent_case import LONG, require_case, text_field
from service.casework.desk import Desk
from service.errors import ApiError
from storage.models import Consent
from storage.uow import UnitOfWork
from tasks.parties import Viewer


def withdraw_consent(
    desk: Desk,
    unit: UnitOfWork,
    actor: Viewer,
    consent_id: str,
    reason: str,
    *,
    business_key: str | None = None,
) -> Consent:
    """The consent, withdrawn by ``actor`` (not committed); 404 for one ``actor`` may not see
    (or, given ``business_key``, one of another child: a page's URL names both), 422 for a
    missing reason, ``Conflict`` if it was withdrawn already."""
    row = unit.session.get(Consent, consent_id)
    if row is None or business_key not in (None, row.business_key):
        raise ApiError(404, "not_found", f"consent {consent_id[:80]} does not exist")
    require_case(desk, unit, actor, row.business_key)
    reason = text_field(reason, "reason", LONG, required=True)
    row, advances = register.withdraw(
        desk.engine, unit, consent_id, by=actor.username, reason=reason, now=desk.now()
    )
    for advance in advances:
        after_step(desk, unit, advance, actor)
    desk.note(detail={"consent_id": row.id, "instances_told": len(advances)})
    return row
