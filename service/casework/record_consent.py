"""Record a consent a child or a family member gave. Recording makes nobody a party to
anything: the keepers of the register may record any child's, others need need-to-know."""

from __future__ import annotations

from records import consent as register
from service.casework.consent_case import LONG, SHORT, invalid, require_case, text_field
from service.casework.desk import Desk
from storage.models import Consent
from storage.uow import UnitOfWork
from tasks.parties import Viewer

HOW = ("verbal", "written", "electronic")


def _strings(value: object, name: str) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() and len(v) <= SHORT for v in value)
    ):
        raise invalid(name, "must be a non-empty list of short strings")
    return value


def record_consent(
    desk: Desk,
    unit: UnitOfWork,
    actor: Viewer,
    *,
    business_key: str,
    person: str,
    agencies: object,
    purposes: object,
    how: str,
    notes: str | None = None,
) -> Consent:
    """The consent recorded by ``actor`` (not committed); 404 for a child (``business_key``)
    ``actor`` may not see, 422 naming the field that is not valid."""
    require_case(desk, unit, actor, business_key)
    person = text_field(person, "person", SHORT, required=True)
    notes = text_field(notes, "notes", LONG) or None
    agencies, purposes = _strings(agencies, "agencies"), _strings(purposes, "purposes")
    if how not in HOW:
        raise invalid("how", "must be verbal, written or electronic")
    row = register.record(
        unit.session,
        business_key=business_key,
        person=person,
        agencies=agencies,
        purposes=purposes,
        how=how,
        notes=notes,
        by=actor.username,
        now=desk.now(),
    )
    desk.note(case_key=business_key, detail={"consent_id": row.id})
    return row
