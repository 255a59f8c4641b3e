"""Sealing the audit trail: one sealer at a time chains the inserted events, in batches.

Requests only INSERT events (``audit.append``, ``pending``); nothing on the request path reads
or locks the chain. :func:`seal` takes the lease — the single ``audit_seal`` row, locked
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so a second sealer (another worker) skips instead of
waiting, and SQLite's single writer otherwise — then gives the unsealed events, oldest ``id``
first, their ``seq``, ``prev_hash`` and ``hash`` and moves the head on, all in one transaction
per batch. It runs every ``AUDIT_SEAL_SECONDS`` in whichever worker's scheduler gets the row
(``service/scheduling.py``) and on demand (``safeguard audit seal``).

After each batch commits, its head (last seq, hash, time) is appended as one JSON line to
``AUDIT_HEADS_FILE`` when set: a record outside the database, so someone who can write to the
database alone cannot rewrite history (even with every hash recomputed) without :func:`check`
noticing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from records import audit
from records.chain import GENESIS
from storage.models import AuditEvent, AuditSeal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sealed:
    """What one :func:`seal` did: events chained, batches, where the chain ends; ``busy`` when
    another sealer held the lease."""

    events: int
    batches: int
    head_seq: int | None
    busy: bool = False


def _lease(session: Session) -> AuditSeal | None:
    """The head row, locked for this transaction; ``None`` when another sealer has it."""
    postgres = session.get_bind().dialect.name == "postgresql"
    query = select(AuditSeal).where(AuditSeal.id == 1)
    head = session.scalars(query.with_for_update(skip_locked=True) if postgres else query).first()
    if head is not None:
        return head
    if session.scalar(select(func.count()).select_from(AuditSeal)):
        return None  # it exists: locked by another sealer
    # No head yet (a fresh or emptied database): start where the chained events end.
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    head = AuditSeal(id=1, seq=last[0] if last else 0, hash=last[1] if last else GENESIS)
    session.add(head)
    session.flush()  # a concurrent first sealer makes this fail: that one goes on
    return head


def seal_batch(session: Session, now: datetime, batch: int = 1000) -> tuple[int, AuditSeal | None]:
    """Chain up to ``batch`` unsealed events in the session's transaction (the caller commits).

    Returns how many and the head after them; ``(0, None)`` when another sealer is at work.
    """
    head = _lease(session)
    if head is None:
        return 0, None
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(batch)
    ).all()
    seq, previous = head.seq, head.hash
    for event in events:
        seq += 1
        event.seq, event.prev_hash, event.sealed_at = seq, previous, now
        event.hash = previous = audit.digest(event)
    if events:
        head.seq, head.hash, head.sealed_at = seq, previous, now
    session.flush()
    return len(events), head


def seal(
    session_factory: sessionmaker[Session],
    now: datetime,
    *,
    batch: int = 1000,
    heads_file: str | None = None,
    max_batches: int | None = None,
) -> Sealed:
    """Seal everything unsealed, one transaction per batch; publish each batch's head."""
    total = batches = 0
    head_seq = None
    while max_batches is None or batches < max_batches:
        try:
            with session_factory() as session, session.begin():
                count, head = seal_batch(session, now, batch)
                published = _head(head, count) if head is not None and count else None
                head_seq = head.seq if head is not None else head_seq
        except Exception as err:
            if _lost_first_insert(err):
                return Sealed(total, batches, head_seq, busy=True)
            raise
        if head is None:
            return Sealed(total, batches, head_seq, busy=True)
        if published is not None:
            publish(heads_file, published)
            batches += 1
            total += count
        if count < batch:
            break
    return Sealed(total, batches, head_seq)


def _lost_first_insert(err: Exception) -> bool:
    from sqlalchemy.exc import IntegrityError

    return isinstance(err, IntegrityError) and "audit_seal" in str(err)


def _head(head: AuditSeal, count: int) -> dict[str, Any]:
    return {
        "seq": head.seq,
        "hash": head.hash,
        "sealed_at": head.sealed_at.isoformat() if head.sealed_at else None,
        "events": count,
    }


def publish(heads_file: str | None, head: dict[str, Any]) -> None:
    """Append ``head`` as one JSON line (locked, fsynced); nothing when no file is configured.

    A failure is logged, not raised: the batch is committed and chained, and the next batch's
    head anchors it (each head covers every event before it through the chain).
    """
    if not heads_file:
        return
    line = json.dumps(head, sort_keys=True, separators=(",", ":")) + "\n"
    try:
        fd = os.open(heads_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
    except OSError:
        log.exception("could not publish the audit chain's head to %s", heads_file)


def read_heads(heads_file: str) -> list[dict[str, Any]]:
    """The published heads, in the order written; a line that is not a head raises ValueError."""
    path = Path(heads_file)
    if not path.exists():
        return []
    heads = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            head = json.loads(line)
            heads.append({"seq": int(head["seq"]), "hash": str(head["hash"]), **head})
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"line {number} of the heads file is not a head") from err
    return heads


def check(
    session: Session, now: datetime, bound_seconds: float, heads_file: str | None = None
) -> dict[str, Any]:
    """The chain recomputed, its end against the seal row and the published heads, and the
    events left unsealed for longer than ``bound_seconds``: what ``verify`` answers."""
    chain = audit.verify(session)
    report: dict[str, Any] = chain.to_dict()
    if chain.ok:
        broken = _against_heads(session, chain.checked, heads_file)
        if broken is not None:
            report.update(ok=False, broken_at={"seq": broken[0], "reason": broken[1]})
    unsealed, oldest_at, oldest_id = session.execute(
        select(func.count(), func.min(AuditEvent.at), func.min(AuditEvent.id)).where(
            AuditEvent.seq.is_(None)
        )
    ).one()
    report["unsealed"] = unsealed
    report["heads_file"] = bool(heads_file)
    late_at = now - timedelta(seconds=bound_seconds)
    late = session.execute(
        select(func.count(), func.min(AuditEvent.at)).where(
            AuditEvent.seq.is_(None), AuditEvent.at < late_at
        )
    ).one()
    if late[0]:
        report["ok"] = False
        report["late"] = {"count": late[0], "oldest_at": late[1].isoformat()}
    return report


def _against_heads(
    session: Session, end: int, heads_file: str | None
) -> tuple[int | None, str] | None:
    """Where the database's chain disagrees with the seal row or the published heads."""
    head = session.get(AuditSeal, 1)
    if head is not None and head.seq != end:
        return end + 1, f"the chain ends at {end} but was sealed up to {head.seq}"
    if not heads_file:
        return None
    try:
        heads = read_heads(heads_file)
    except ValueError as err:
        return None, str(err)
    for published in sorted(heads, key=lambda h: h["seq"]):
        if published["seq"] > end:
            return published["seq"], "a published head is missing from the database"
        stored = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == published["seq"]))
        if stored != published["hash"]:
            return published["seq"], "differs from the head published outside the database"
    return None
