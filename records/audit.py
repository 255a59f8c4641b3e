"""The audit trail: every read and change of case data, sign-ins, deployments — hash-chained.

Appending is a plain INSERT in the caller's transaction: no lock, no read of the previous row,
so audited requests never queue behind each other (issue 16). The chain is made afterwards by
one sealer at a time (``service/records/sealing.py``): it gives each event its ``seq`` and
``prev_hash``, and its ``hash`` (:func:`digest`) covering all its columns, so a sealed row
edited, inserted or removed behind the service's back breaks the chain exactly there.
Reads are queued in the process and inserted in batches (``service/records/pending.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from records.chain import Verification, verify_chain
from storage.models import AuditEvent


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


def digest(event: AuditEvent) -> str:
    """The hash of a sealed event: its columns, its place (``seq``) and the previous hash."""
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


def row(intent: Intent, now: datetime) -> dict[str, Any]:
    """The columns of ``intent``'s event as inserted: unsealed (no seq, no hashes yet)."""
    return {
        "at": now,
        "actor": intent.actor,
        "action": intent.action,
        "outcome": intent.outcome or "ok",
        "case_key": intent.case_key,
        "instance_id": intent.instance_id,
        "task_id": intent.task_id,
        "detail": intent.detail or None,
        "remote_addr": intent.remote_addr,
    }


def append(session: Session, intent: Intent, now: datetime) -> AuditEvent:
    """Add ``intent`` to the trail, in the session's transaction: one INSERT when it flushes.

    Nothing is read and nothing locked, so concurrent transactions append side by side; the
    event is chained by the sealer once committed.
    """
    event = AuditEvent(**row(intent, now))
    session.add(event)
    intent.written = True
    return event


def link(
    session: Session, events: Sequence[AuditEvent], seq: int, previous: str, now: datetime
) -> str:
    """Chain ``events`` (unsealed, oldest first) after ``seq``/``previous``; the last hash.

    The events are changed through the ORM and written when the sealer's session flushes.
    """
    for event in events:
        seq += 1
        event.seq, event.prev_hash, event.sealed_at = seq, previous, now
        event.hash = previous = digest(event)
    return previous


# What a retention purge keeps of an event; ``case_key`` and ``detail`` may name the child.
KEPT = ("seq", "at", "actor", "action", "outcome", "instance_id", "task_id", "remote_addr")


def _tombstone(event: AuditEvent) -> str:
    body = {name: getattr(event, name) for name in KEPT}
    body.update(at=event.at.isoformat(), purged_at=event.purged_at.isoformat(), hash=event.hash)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def purge(session: Session, seqs: list[int], now: datetime) -> int:
    """Drop the case and the details of sealed events ``seqs`` (retention), leaving a tombstone:
    the chain's links still hold and who did what, when, stays verifiable."""
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
    """Recompute the sealed chain from the start; name the first event that does not fit
    (unsealed events and the published heads: ``sealing.check``)."""
    return verify_chain(session, AuditEvent, "seq", digest, noun="event", tombstone=_tombstone)
