"""A child's chronology: the significant events of the case, in date order, as one list.

The page (``/cases/<business_key>/chronology``) and its PDF print the same list, so what is
printed is what was seen. Significant, for a safeguarding chronology, means what a reviewer
reads a case for: each process started and how it ended (a referral, an escalation and its
stages among them), every decision to share or not and what followed it (the family told),
and every consent recorded and withdrawn - not each step opened or closed.

Need-to-know is the caller's: it passes the instances the viewer may see (and only those
instances' register entries, when the viewer may read the register). Consents belong to the
child, not to one process, and whoever may see the case may read them (the consent register's
rule). Flask-free: the builder reads rows, it decides nothing about who asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from records import consent
from storage.models import Consent, ProcessInstance, SharingRecord, Task
from tasks.disagreements import PROCESS as ESCALATION
from tasks.disagreements import STAGES

REFERRAL = "referral"
ENDINGS = {"completed": "ended", "cancelled": "was cancelled", "error": "stopped on an error"}


@dataclass(frozen=True)
class Entry:
    """One event as a reader of the chronology sees it."""

    at: datetime
    kind: str  # process | referral | escalation | decision | share | consent | withdrawal
    what: str  # one line: what happened
    detail: str = ""  # why, with whom, the reason given
    by: str | None = None
    process: str | None = None  # the process it happened in, as the case page names it
    closing: bool = False  # a process ended: after what it recorded in the same instant


def _kind(instance: ProcessInstance) -> str:
    if instance.process_key == REFERRAL:
        return "referral"
    return "escalation" if instance.process_key == ESCALATION else "process"


def _of_instances(
    session: Session, instances: Sequence[ProcessInstance], names: Mapping[str, str]
) -> list[Entry]:
    entries = []
    for row in instances:
        name, kind = names.get(row.id, row.process_key), _kind(row)
        entries.append(Entry(row.started_at, kind, f"{name} started", by=row.started_by))
        if row.ended_at is not None:
            ended = ENDINGS.get(row.status, row.status)
            entries.append(Entry(row.ended_at, kind, f"{name} {ended}", closing=True))
    escalations = {
        row.id: names.get(row.id, row.process_key)
        for row in instances
        if row.process_key == ESCALATION
    }
    if escalations:
        stages = session.scalars(
            select(Task).where(
                Task.instance_id.in_(list(escalations)),
                Task.element_id.in_([step for step, n in STAGES.items() if n > 1]),
            )
        )
        for task in stages:
            name = escalations[task.instance_id]
            stage = f"Escalated to stage {STAGES[task.element_id]}"
            entries.append(Entry(task.created_at, "escalation", stage, process=name))
    return entries


def _recipients(entry: SharingRecord) -> str:
    names = []
    for recipient in entry.recipients or []:
        person = recipient.get("person")
        names.append(recipient.get("agency", "") + (f" ({person})" if person else ""))
    return ", ".join(name for name in names if name)


def _of_register(rows: Sequence[SharingRecord], names: Mapping[str, str]) -> list[Entry]:
    entries = []
    for row in rows:
        process = names.get(row.instance_id or "")
        corrects = f" (corrects #{row.corrects})" if row.corrects else ""
        if row.follows is not None:
            if row.subject_informed is True:
                what, detail = "Family told of the decision", ""
            else:
                what, detail = "Family not told of the decision", row.not_informed_reason or ""
            what = f"{what} #{row.follows}"
        elif row.decision == "share":
            with_whom = _recipients(row)
            what = f"Decided to share{' with ' + with_whom if with_whom else ''}{corrects}"
            consented = "with consent" if row.with_consent else "without consent"
            basis = f"; lawful basis: {row.lawful_basis}" if row.lawful_basis else ""
            detail = f"{consented}{basis}. {row.reasons or ''}".strip()
        else:
            what, detail = f"Decided not to share{corrects}", row.reasons or ""
        kind = "share" if row.decision == "share" and row.follows is None else "decision"
        what = f"#{row.id} {what}"
        entries.append(Entry(row.decided_at, kind, what, detail, row.decided_by, process))
    return entries


def _of_consents(rows: Sequence[Consent]) -> list[Entry]:
    entries = []
    for row in rows:
        scope = f"for {', '.join(row.purposes)}; may be shared with {', '.join(row.agencies)}"
        given = f"Consent recorded: {row.person} ({row.how})"
        entries.append(Entry(row.recorded_at, "consent", given, scope, row.recorded_by))
        if row.withdrawn_at is not None:
            reason = row.withdrawal_reason or ""
            taken = f"Consent withdrawn: {row.person}"
            entries.append(Entry(row.withdrawn_at, "withdrawal", taken, reason, row.withdrawn_by))
    return entries


def chronology(
    session: Session,
    business_key: str,
    instances: Sequence[ProcessInstance],
    names: Mapping[str, str],
    register: Sequence[SharingRecord] | None,
) -> list[Entry]:
    """The case's significant events, oldest first: of ``instances`` (the ones the viewer may
    see, named by ``names``: instance id -> name), of ``register`` (their entries, ``None`` for
    a viewer who may not read the register) and the child's consents."""
    entries = _of_instances(session, instances, names)
    entries += _of_register(register or (), names)
    entries += _of_consents(consent.of_business_key(session, business_key))
    # Stable: in one instant, a process's start and what it recorded come before its end.
    return sorted(entries, key=lambda e: (e.at, e.closing))
