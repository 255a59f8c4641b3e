"""The audit trail: every read and change of case data, sign-ins, deployments — hash-chained.

Each event stores the hash of the one before it, and its own hash covers all its columns, so a
row edited, inserted or removed behind the service's back breaks the chain exactly there;
:func:`verify` finds the first broken link. Appending takes a lock for the rest of the
transaction (PostgreSQL advisory lock; SQLite has a single writer anyway), so two writers can
never chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from records.chain import GENESIS, Verification, verify_chain
from storage.models import AuditEvent

_LOCK_KEY = 7_401_001  # pg_advisory_xact_lock key of the audit chain


@dataclass
class Intent:
    """What the current request is about; written once its outcome is known."""

    action: str
    actor: str | None
    remote_addr: str | None
    case_key: str | None = None
    instance_id: str | None = None
    task_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    outcome: str | None = None
    written: bool = False


def _digest(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "outcome": event.outcome,
        "case_key": event.case_key,
        "instance_id": event.instance_id,
        "task_id": event.task_id,
        "detail": event.detail,
        "remote_addr": event.remote_addr,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(session: Session, intent: Intent, now: datetime) -> AuditEvent:
    """Add ``intent`` to the chain, in the session's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    event = AuditEvent(
        seq=(last[0] + 1) if last else 1,
        at=now,
        actor=intent.actor,
        action=intent.action,
        outcome=intent.outcome or "ok",
        case_key=intent.case_key,
        instance_id=intent.instance_id,
        task_id=intent.task_id,
        detail=intent.detail or None,
        remote_addr=intent.remote_addr,
        prev_hash=last[1] if last else GENESIS,
    )
    event.hash = _digest(event)
    session.add(event)
    session.flush()
    intent.written = True
    return event


# What a retention purge keeps of an event; ``case_key`` and ``detail`` may name the child.
KEPT = ("seq", "at", "actor", "action", "outcome", "instance_id", "task_id", "remote_addr")


def _tombstone(event: AuditEvent) -> str:
    body = {name: getattr(event, name) for name in KEPT}
    body.update(at=event.at.isoformat(), purged_at=event.purged_at.isoformat(), hash=event.hash)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def purge(session: Session, seqs: list[int], now: datetime) -> int:
    """Drop the case and the details of events ``seqs`` (retention), leaving a tombstone: the
    chain's links still hold and who did what, when, stays verifiable."""
    done = 0
    for event in session.scalars(
        select(AuditEvent).where(AuditEvent.seq.in_(seqs), AuditEvent.purged_at.is_(None))
    ).all():
        shadow = AuditEvent(**{n: getattr(event, n) for n in KEPT}, hash=event.hash, purged_at=now)
        stone = _tombstone(shadow)
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == event.seq)
            .values(case_key=None, detail=None, purged_at=now, tombstone=stone),
            execution_options={"synchronize_session": False},
        )
        done += 1
    session.expire_all()
    return done


def verify(session: Session) -> Verification:
    """Recompute the chain from the start; name the first event that does not fit."""
    return verify_chain(session, AuditEvent, "seq", _digest, noun="event", tombstone=_tombstone)
