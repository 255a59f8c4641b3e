"""Retention: purge a closed case's data once its retention period has passed (issue 6 point 5).

A case (a child's business key, or an instance id when there is none) is *closed* when none of
its instances is running or failed; it closed when its last instance ended. Each kind of record
has its own period, counted from then (``service.config.retention_days``):

- ``case``: the instances' engine state (replaced by :data:`PURGED_STATE`; the rows stay, so the
  Board's timings still count them), the answers on their task rows, timer payloads, the
  managers' written resolutions of their inbox items, and the child's record (name, date of
  birth, identifier: records/children.py) - it goes with the last of the child's instances;
- ``notification``: the in-app notifications about the case's instances (deleted);
- ``consent``: the child's consent register rows (deleted);
- ``register``: the identifying fields of the child's sharing register entries — nulled by the
  one update migration 0008's trigger allows, leaving decision, consent, lawful basis, agencies,
  method, dates and a tombstone hash (``records.register_chain.purge``);
- ``audit``: the case key and details of the case's audit events, leaving who did what and when
  and a tombstone hash (``records.audit.purge``).

When every period has passed, the instances forget the business key and the case's need-to-know
rows go. Both hash chains still verify afterwards: purged rows keep their original hash, so the
links hold, and are checked against their tombstone. The run itself is an audit event (cli).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from records import audit, register_chain
from storage.children import ChildRecord
from storage.models import (
    AuditEvent,
    Consent,
    Escalation,
    Notification,
    ProcessInstance,
    SharingRecord,
    Task,
    Timer,
)

PURGED_STATE = '{"purged": true}'
CLOSED = ("completed", "cancelled")


@dataclass
class CasePlan:
    """What a run would purge of one closed case."""

    key: str
    closed_at: datetime
    instances: list[str] = field(default_factory=list)  # state and answers to purge
    answers: int = 0
    notifications: list[str] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)
    register: list[int] = field(default_factory=list)
    audit: list[int] = field(default_factory=list)
    forget_key: bool = False
    child_record: bool = False  # the child's details to delete
    all_instances: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.instances
            or self.notifications
            or self.consents
            or self.register
            or self.audit
            or self.forget_key
            or self.child_record
        )

    def describe(self) -> str:
        parts = [
            f"{len(self.instances)} instance(s) with {self.answers} answered task(s)",
            f"{len(self.notifications)} notification(s)",
            f"{len(self.consents)} consent(s)",
            f"{len(self.register)} register entr(ies)",
            f"{len(self.audit)} audit event(s)",
        ]
        if self.child_record:
            parts.append("child record")
        if self.forget_key:
            parts.append("case key forgotten")
        return f"{self.key} (closed {self.closed_at.date().isoformat()}): " + ", ".join(parts)


def closed_cases(session: Session) -> dict[str, tuple[datetime, list[str]]]:
    """Every closed case: its key, when it closed, its instance ids."""
    key = func.coalesce(ProcessInstance.business_key, ProcessInstance.id)
    rows = session.execute(
        select(key, ProcessInstance.id, ProcessInstance.status, ProcessInstance.ended_at)
    ).all()
    cases: dict[str, list] = defaultdict(list)
    for case_key, instance_id, status, ended_at in rows:
        cases[case_key].append((instance_id, status, ended_at))
    closed = {}
    for case_key, instances in cases.items():
        if all(status in CLOSED and ended for _, status, ended in instances):
            closed[case_key] = (max(e for _, _, e in instances), [i for i, _, _ in instances])
    return closed


def plan(session: Session, now: datetime, days: dict[str, int]) -> list[CasePlan]:
    """What a run at ``now`` would purge, case by case (a dry run stops here)."""
    cut = {kind: now - timedelta(days=n) for kind, n in days.items()}
    last = now - timedelta(days=max(days.values()))
    plans = []
    for key, (closed_at, ids) in sorted(closed_cases(session).items()):
        p = CasePlan(key, closed_at, all_instances=ids)
        if closed_at < cut["case"]:
            p.instances = list(
                session.scalars(
                    select(ProcessInstance.id).where(
                        ProcessInstance.id.in_(ids), ProcessInstance.state != PURGED_STATE
                    )
                )
            )
            p.answers = session.scalar(
                select(func.count())
                .select_from(Task)
                .where(Task.instance_id.in_(p.instances), Task.data.is_not(None))
            )
            # Every instance of the child is closed and past its period: none still needs it.
            p.child_record = session.get(ChildRecord, key) is not None
        if closed_at < cut["notification"]:
            p.notifications = list(
                session.scalars(select(Notification.id).where(Notification.instance_id.in_(ids)))
            )
        if closed_at < cut["consent"]:
            p.consents = list(
                session.scalars(select(Consent.id).where(Consent.business_key == key))
            )
        if closed_at < cut["register"]:
            p.register = list(
                session.scalars(
                    select(SharingRecord.id).where(
                        SharingRecord.business_key == key,
                        SharingRecord.purged_at.is_(None),
                        SharingRecord.seq.is_not(None),  # sealed (the CLI seals first)
                    )
                )
            )
        if closed_at < cut["audit"]:
            p.audit = list(
                session.scalars(
                    select(AuditEvent.seq).where(
                        or_(AuditEvent.case_key == key, AuditEvent.instance_id.in_(ids)),
                        AuditEvent.purged_at.is_(None),
                        AuditEvent.seq.is_not(None),  # sealed (the CLI seals first)
                    )
                )
            )
        if closed_at < last:
            p.forget_key = bool(
                session.scalar(
                    select(func.count())
                    .select_from(ProcessInstance)
                    .where(ProcessInstance.business_key == key)
                )
            )
        if not p.empty:
            plans.append(p)
    return plans


def purge(session: Session, plans: list[CasePlan], now: datetime) -> dict:
    """Carry out ``plans`` in the session's transaction; the totals and the tombstones."""
    totals = defaultdict(int)
    tombstones: list[str] = []
    for p in plans:
        if p.instances:
            ids = p.instances
            session.execute(
                update(ProcessInstance)
                .where(ProcessInstance.id.in_(ids))
                .values(
                    state=PURGED_STATE,
                    error=None,
                    cancel_reason=None,
                    version=ProcessInstance.version + 1,
                ),
                execution_options={"synchronize_session": False},
            )
            for model, values in (
                (Task, {"data": None}),
                (Timer, {"payload": None, "last_error": None}),
                (Escalation, {"resolution": None, "details": None}),
            ):
                session.execute(
                    update(model).where(model.instance_id.in_(ids)).values(**values),
                    execution_options={"synchronize_session": False},
                )
            totals["instances"] += len(ids)
            totals["answered_tasks"] += p.answers
        if p.child_record:
            session.execute(delete(ChildRecord).where(ChildRecord.business_key == p.key))
            totals["child_records"] += 1
        if p.notifications:
            session.execute(delete(Notification).where(Notification.id.in_(p.notifications)))
            totals["notifications"] += len(p.notifications)
        if p.consents:
            session.execute(delete(Consent).where(Consent.id.in_(p.consents)))
            totals["consents"] += len(p.consents)
        if p.register:
            tombstones += register_chain.purge(session, p.register, now)
            totals["register_entries"] += len(p.register)
        if p.audit:
            totals["audit_events"] += audit.purge(session, p.audit, now)
        if p.forget_key:
            session.execute(
                update(ProcessInstance)
                .where(ProcessInstance.business_key == p.key)
                .values(business_key=None),
                execution_options={"synchronize_session": False},
            )
            totals["case_keys_forgotten"] += 1
    session.expire_all()
    return {"cases": len(plans), **totals, "register_tombstones": tombstones}
