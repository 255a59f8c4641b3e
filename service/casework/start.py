"""Start a process for a child: the one path the API and the start page share.

Both must add the same things around the engine's start - the consent on record for processes
that read it, the effects of the first advance and the audit note - or a case started from a
page would differ from one started over the API. The starter is a party to that instance, and
to no other of the child's, by having started it (tasks/parties.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from records import children, consent
from service.casework.after import after_step
from service.casework.desk import Desk
from service.errors import ApiError
from storage.models import StartRequest
from storage.uow import UnitOfWork
from tasks import inputs
from tasks.parties import Viewer
from workflows import definitions
from workflows.events import Advance


def _start(
    desk: Desk,
    unit: UnitOfWork,
    user: Viewer,
    process_key: str,
    business_key: str | None,
    variables: dict[str, Any] | None,
    version: int | None,
    details: children.ChildDetails | None = None,
) -> Advance:
    # Only what the diagram declares as start inputs, checked like a task's answers; the
    # version is pinned so that the check and the start read the same diagram.
    definition = definitions.find(unit.session, process_key, version)
    spec, _ = desk.engine.specs.get(unit.session, definition.id)
    variables = inputs.check_start(spec, variables)
    version = definition.version
    variables = consent.start_variables(
        unit.session,
        process_key,
        business_key,
        variables,
        desk.consent_on_record,
    )
    advance = desk.engine.start(
        unit,
        process_key,
        business_key=business_key,
        variables=variables,
        version=version,
        started_by=user.username,
        definition_id=definition.id,  # read above: not looked up again
    )
    row = advance.instance
    advance = after_step(desk, unit, advance, user)
    detail = {"process_key": row.process_key}
    if details is not None and row.business_key is not None:
        _, made = children.record(
            unit.session, row.business_key, details, user.username, desk.now()
        )
        detail["child_record"] = "recorded" if made else "kept"  # never overwritten
    desk.note(instance_id=row.id, case_key=row.case_key, detail=detail)
    return advance


# A request key: what a client sends as ``Idempotency-Key`` (and the start form as a hidden
# field). Kept a day: a retry comes within seconds, a day covers a client that was offline.
REQUEST_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
KEPT_FOR = timedelta(days=1)


def checked_business_key(desk: Desk, process_key: str, business_key: str | None) -> str | None:
    """The business key as given, trimmed, or 422 naming ``business_key``: never empty or blank,
    and present for a process that is always about one child (``BUSINESS_KEY_REQUIRED``)."""
    if business_key is None:
        if process_key in desk.config["BUSINESS_KEY_REQUIRED"]:
            raise ApiError(
                422,
                "invalid_input",
                "Name the child: this process is always about one child.",
                [{"field": "business_key", "message": "is required"}],
            )
        return None
    key = business_key.strip()
    if not key:
        raise ApiError(
            422,
            "invalid_input",
            "The child's identifier is empty.",
            [{"field": "business_key", "message": "must not be empty or blank"}],
        )
    return key


def checked_child_record(
    desk: Desk, business_key: str | None, raw: Mapping[str, object] | None
) -> children.ChildDetails | None:
    """The child's details of a start, checked, or 422 naming ``child_record.<field>``; they
    need a child (a business key) to belong to."""
    try:
        details = children.check(raw, desk.now().date())
    except children.DetailsInvalid as err:
        problems = [{"field": f"child_record.{f}", "message": m} for f, m in err.problems]
        raise ApiError(
            422, "invalid_input", "The child's details are not valid.", problems
        ) from None
    if details is not None and business_key is None:
        raise ApiError(
            422,
            "invalid_input",
            "The child's details need the child's business key.",
            [{"field": "child_record", "message": "needs a business_key"}],
        )
    return details


def start_process(
    desk: Desk,
    unit: UnitOfWork,
    user: Viewer,
    process_key: str,
    business_key: str | None,
    variables: dict[str, Any] | None = None,
    version: int | None = None,
    request_key: str | None = None,
    child_record: Mapping[str, object] | None = None,
) -> tuple[str, bool]:
    """Start ``process_key`` for ``business_key`` as ``user`` in ``unit`` (not committed).

    A start asked again with the same ``request_key`` (a retry after a lost answer, a double
    click) gets the first one's instance, not a second case for the child. The instance id,
    and whether it was such a replay.

    ``variables`` come from a caller: only the start inputs the diagram declares are taken
    (``tasks.inputs.check_start``), and ``business_key`` must name a child
    (:func:`checked_business_key`). ``child_record``: the child's details, recorded unless the
    child has a record already (records/children.py).
    """
    business_key = checked_business_key(desk, process_key, business_key)
    details = checked_child_record(desk, business_key, child_record)
    if request_key is None:
        return _start(
            desk, unit, user, process_key, business_key, variables, version, details
        ).instance.id, False
    if not REQUEST_KEY.match(request_key):
        raise ApiError(
            400, "bad_request", "Idempotency-Key must be 1 to 200 visible ASCII characters."
        )
    asked_for = [process_key, business_key, variables, version]
    if child_record:  # only when given: fingerprints of starts without one stay as they were
        asked_for.append(child_record)
    asked = json.dumps(asked_for, sort_keys=True, default=str)
    fingerprint = hashlib.sha256(asked.encode()).hexdigest()
    session, now = unit.session, desk.now()
    session.execute(delete(StartRequest).where(StartRequest.created_at < now - KEPT_FOR))
    earlier = session.get(StartRequest, (user.username, request_key))
    if earlier is not None:
        if earlier.fingerprint != fingerprint:
            raise ApiError(
                422,
                "request_key_reused",
                "This request key was already used to start something else: use a new one.",
            )
        return earlier.instance_id, True
    taken = StartRequest(
        username=user.username, request_key=request_key, fingerprint=fingerprint, created_at=now
    )
    session.add(taken)
    try:
        session.flush()  # takes the key: a concurrent start with it waits here, then fails
    except IntegrityError:
        raise ApiError(
            409, "conflict", "A start with this key is in progress; try again."
        ) from None
    taken.instance_id = _start(
        desk, unit, user, process_key, business_key, variables, version, details
    ).instance.id
    return taken.instance_id, False
