"""Starting a process for a child: the one path the API and the start page share.

Both must add the same things around the engine's start - the consent on record for processes
that read it, the starter as a party to the case, the effects of the first advance and the audit
note - or a case started from a page would differ from one started over the API.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from service.app import after_advance, services
from service.records import consent, trail
from storage.models import User
from storage.uow import UnitOfWork
from tasks import parties
from workflows.events import Advance


def start_process(
    unit: UnitOfWork,
    user: User,
    process_key: str,
    business_key: str | None,
    variables: dict[str, Any] | None = None,
    version: int | None = None,
) -> Advance:
    """Start ``process_key`` for ``business_key`` as ``user`` in ``unit`` (not committed)."""
    variables = consent.start_variables(
        unit.session,
        process_key,
        business_key,
        variables,
        current_app.config["CONSENT_ON_RECORD"],
    )
    advance = services().engine.start(
        unit,
        process_key,
        business_key=business_key,
        variables=variables,
        version=version,
        started_by=user.username,
    )
    row = advance.instance
    key = parties.case_key(row.business_key, row.id)
    parties.add_party(unit.session, key, user.username, "started", row.started_at)
    after_advance(unit, advance)
    trail.note(instance_id=row.id, case_key=key, detail={"process_key": row.process_key})
    return advance
