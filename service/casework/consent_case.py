"""Who may read or change a child's consents: the check the consent use cases and the
register's listing share."""

from __future__ import annotations

from service.casework.desk import Desk
from service.errors import ApiError
from storage.uow import UnitOfWork
from tasks import parties
from tasks.parties import Viewer
from workflows.roles import CONSENT_KEEPERS


def require_case(desk: Desk, unit: UnitOfWork, actor: Viewer, business_key: str) -> None:
    """Need-to-know of the child ``business_key``, whose case it keys (404 like a missing case),
    unless ``actor`` keeps the register (``CONSENT_KEEPERS``); that case becomes the case of the
    request's audit event."""
    if not actor.roles & CONSENT_KEEPERS and not parties.can_see_case(
        unit.session, actor, business_key
    ):
        raise ApiError(404, "not_found", f"case {business_key} does not exist")
    desk.note(case_key=business_key)
