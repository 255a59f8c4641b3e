"""The consent register: consent per child and family member, its scope, and its withdrawal.

Consents are never deleted: a withdrawal is recorded on the consent (who, when, why) and told
to every running instance of the child as the BPMN message ``consent_withdrawn``, so a process
waiting for it (early help) stops sharing beyond what safeguarding requires.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Consent, ProcessInstance, Task
from storage.uow import UnitOfWork
from workflows.errors import Conflict, NotFound
from workflows.events import Advance
from workflows.instances import Engine

WITHDRAWN_MESSAGE = "consent_withdrawn"
ENTRY_KEY = "consent_entry"
HOW = ("verbal", "written", "electronic")


def record(
    session: Session,
    *,
    business_key: str,
    person: str,
    agencies: list[str],
    purposes: list[str],
    how: str,
    notes: str | None,
    by: str,
    now: datetime,
) -> Consent:
    consent = Consent(
        business_key=business_key,
        person=person,
        agencies=agencies,
        purposes=purposes,
        how=how,
        notes=notes,
        recorded_by=by,
        recorded_at=now,
    )
    session.add(consent)
    session.flush()
    return consent


def after_advance(session: Session, advance: Advance, by: str | None, now: datetime) -> None:
    """Record each ``consent_entry`` a script produced during ``advance`` (early help's
    ``record_consent``): the diagram says what was consented to, the service who recorded it.

    Each script run is reported by the one advance that ran it (``Advance.scripts``), and the
    advance's transaction commits or rolls back with the consent, so a run is recorded once.
    """
    # Only an entry the script itself produced: a later script inherits the data (and so the
    # entry) of the one that recorded it, and a caller's value must never count.
    runs = [run for run in advance.scripts if run.produced(ENTRY_KEY) is not None]
    if not runs:
        return
    for run in runs:
        entry = run.produced(ENTRY_KEY)
        record(
            session,
            business_key=advance.case_key,
            person=str(entry.get("person") or "not recorded"),
            agencies=[str(a) for a in entry.get("agencies") or []],
            purposes=[str(p) for p in entry.get("purposes") or []],
            how=entry.get("how") if entry.get("how") in HOW else "verbal",
            notes=entry.get("notes"),
            by=by or "system",
            now=now,
        )


def of_business_key(session: Session, business_key: str) -> list[Consent]:
    """The consents recorded for the child ``business_key``, oldest first."""
    query = select(Consent).where(Consent.business_key == business_key)
    return list(session.scalars(query.order_by(Consent.recorded_at)))


def status(session: Session, business_key: str) -> str:
    """``given`` if a consent is in force, ``withdrawn`` if all were withdrawn, else ``none``."""
    return status_of(of_business_key(session, business_key))


def status_of(consents: list[Consent]) -> str:
    """:func:`status` of consents already read (the register's page shows both)."""
    if any(c.withdrawn_at is None for c in consents):
        return "given"
    return "withdrawn" if consents else "none"


def start_variables(
    session: Session,
    process_key: str,
    business_key: str | None,
    variables: dict | None,
    reads_consent: tuple[str, ...],
) -> dict | None:
    """``variables`` plus ``consent_on_record`` (``status`` now) for a process in
    ``reads_consent`` (config ``CONSENT_ON_RECORD``) started for a child.

    Set last, so a caller cannot claim a consent the register does not hold."""
    if not business_key or process_key not in reads_consent:
        return variables
    return {**(variables or {}), "consent_on_record": status(session, business_key)}


def step_variables(session: Session, task_id: str, reads_consent: tuple[str, ...]) -> dict:
    """``consent_on_record`` as the register holds it now, for a step of a process in
    ``reads_consent``: a consent given or withdrawn while the decision runs counts from the
    next answer on, not only the one on record when it started."""
    # Through the session's identity map: the completion that follows reads the same two rows.
    task = session.get(Task, task_id)
    instance = session.get(ProcessInstance, task.instance_id) if task is not None else None
    if instance is None or not instance.business_key or instance.process_key not in reads_consent:
        return {}
    return {"consent_on_record": status(session, instance.business_key)}


def withdraw(
    engine: Engine, uow: UnitOfWork, consent_id: str, *, by: str, reason: str, now: datetime
) -> tuple[Consent, list[Advance]]:
    """Record the withdrawal and deliver it to the child's running instances that await it."""
    consent = uow.session.get(Consent, consent_id)
    if consent is None:
        raise NotFound(f"consent {consent_id} does not exist")
    if consent.withdrawn_at is not None:
        raise Conflict("this consent was already withdrawn")
    consent.withdrawn_at, consent.withdrawn_by, consent.withdrawal_reason = now, by, reason
    uow.session.flush()
    running = uow.session.scalars(
        select(ProcessInstance.id).where(
            ProcessInstance.business_key == consent.business_key,
            ProcessInstance.status == "running",
        )
    ).all()
    payload = {"consent_id": consent.id, "person": consent.person, "reason": reason}
    advances = []
    for instance_id in running:
        savepoint = uow.session.begin_nested()
        try:
            advances.append(engine.deliver_message(uow, instance_id, WITHDRAWN_MESSAGE, payload))
        except Conflict:
            savepoint.rollback()  # this instance does not wait for the message
            continue
        savepoint.commit()
    return consent, advances
