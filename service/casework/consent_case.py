"""Who may read or change a child's consents: the check the consent use cases share, and the
register's listing that the API and the consents page both show."""

from __future__ import annotations

from records import consent as register
from service.casework.desk import Desk
from service.errors import ApiError
from storage.models import Consent
from storage.uow import UnitOfWork
from tasks import parties
from tasks.parties import Viewer
from workflows.roles import CONSENT_KEEPERS

KEY_LENGTH = 200  # the column holds no longer a business key, nor could the audit trail
SHORT, LONG = 200, 4000  # the longest person, agency or purpose; the longest notes or reason


def require_case(desk: Desk, unit: UnitOfWork, actor: Viewer, business_key: str) -> None:
    """Need-to-know of the child ``business_key``, whose case it keys (404 like a missing case),
    unless ``actor`` keeps the register (``CONSENT_KEEPERS``); that case becomes the case of the
    request's audit event."""
    if not business_key or len(business_key) > KEY_LENGTH:
        raise ApiError(404, "not_found", f"case {business_key[:80]} does not exist")
    if not actor.roles & CONSENT_KEEPERS and not parties.can_see_case(
        unit.session, actor, business_key
    ):
        raise ApiError(404, "not_found", f"case {business_key} does not exist")
    desk.note(case_key=business_key)


def consents_of(
    desk: Desk, unit: UnitOfWork, actor: Viewer, business_key: str
) -> tuple[list[Consent], str]:
    """The child's consents (oldest first) and whether one is in force (``given``,
    ``withdrawn`` or ``none``): what the API's list and the consents page show, behind the
    same check."""
    require_case(desk, unit, actor, business_key)
    rows = register.of_business_key(unit.session, business_key)
    return rows, register.status_of(rows)


def invalid(field: str, message: str) -> ApiError:
    """The 422 of the consent use cases, naming the field the person must put right."""
    return ApiError(
        422, "invalid_input", "Some fields are not valid.", [{"field": field, "message": message}]
    )


def text_field(value: object, name: str, longest: int, required: bool = False) -> str:
    """``value`` stripped; 422 naming ``name`` unless it is text of at most ``longest``
    characters (and some, if ``required``). A page's form sends whatever was typed, where the
    API's schema already bounds the same fields."""
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise invalid(name, "must be text")
    if required and not text:
        raise invalid(name, "is required")
    if len(text) > longest:
        raise invalid(name, f"must be at most {longest} characters")
    return text
