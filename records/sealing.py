"""Sealing the hash chains: one sealer at a time chains inserted rows, in batches.

Two chains are kept this way (issue 16): the audit trail's events and the sharing register's
entries. Requests only INSERT (``audit.append``, ``pending``, ``register.record``); nothing on
the request path reads or locks a chain. :func:`seal` takes the lease — the ``audit_seal`` row
1, locked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so a second sealer (another worker) skips
instead of waiting, and SQLite's single writer otherwise — then, for each chain (:data:`CHAINS`),
gives the unsealed rows, oldest ``id`` first, their ``seq``, ``prev_hash`` and ``hash`` and moves
that chain's head (its own ``audit_seal`` row) on, all in one transaction per batch. It runs
every ``AUDIT_SEAL_SECONDS`` in whichever worker's scheduler gets the row
(``service/scheduling.py``) and on demand (``safeguard audit seal``).

After each batch commits, each chain's new head (chain, last seq, hash, time) is appended as one
JSON line to ``AUDIT_HEADS_FILE`` when set: a record outside the database, so someone who can
write to the database alone cannot rewrite history (even with every hash recomputed) without
:func:`check` noticing.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from records import audit, register_chain
from records.chain import GENESIS, Verification
from storage.models import AuditEvent, AuditSeal, SharingRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chain:
    """One chain the sealer keeps: its table, its head's ``audit_seal`` row, the column the
    unsealed bound is measured from, and how its rows are linked and checked."""

    name: str
    head_id: int
    model: type
    at: str
    noun: str
    link: Callable[[Session, Sequence[Any], int, str, datetime], str]
    verify: Callable[[Session], Verification]


AUDIT = Chain("audit", 1, AuditEvent, "at", "events", audit.link, audit.verify)
REGISTER = Chain(
    "register",
    2,
    SharingRecord,
    "recorded_at",
    "entries",
    register_chain.link,
    register_chain.verify,
)
CHAINS = (AUDIT, REGISTER)


@dataclass(frozen=True)
class Sealed:
    """What one :func:`seal` did: audit events and register entries chained, batches, where
    each chain ends; ``busy`` when another sealer held the lease."""

    events: int
    batches: int
    head_seq: int | None
    busy: bool = False
    entries: int = 0
    register_seq: int | None = None


def _locked(session: Session, head_id: int) -> AuditSeal | None:
    postgres = session.get_bind().dialect.name == "postgresql"
    query = select(AuditSeal).where(AuditSeal.id == head_id)
    return session.scalars(query.with_for_update(skip_locked=True) if postgres else query).first()


def _head(session: Session, chain: Chain) -> AuditSeal | None:
    """``chain``'s head row, locked for this transaction; ``None`` when another sealer has it.

    Row 1 (the audit chain's) is the lease: whoever locks it may lock and move the others.
    """
    head = _locked(session, chain.head_id)
    if head is not None:
        return head
    exists = select(func.count()).select_from(AuditSeal).where(AuditSeal.id == chain.head_id)
    if session.scalar(exists):
        return None  # it exists: locked by another sealer
    # No head yet (a fresh or emptied database): start where the chained rows end.
    model = chain.model
    last = session.execute(
        select(model.seq, model.hash)
        .where(model.seq.is_not(None))
        .order_by(model.seq.desc())
        .limit(1)
    ).first()
    head = AuditSeal(
        id=chain.head_id, seq=last[0] if last else 0, hash=last[1] if last else GENESIS
    )
    session.add(head)
    session.flush()  # a concurrent first sealer makes this fail: that one goes on
    return head


def seal_batch(
    session: Session, now: datetime, batch: int = 1000
) -> dict[str, tuple[int, AuditSeal]] | None:
    """Chain up to ``batch`` unsealed rows of each chain in the session's transaction (the
    caller commits). Per chain, how many and its head after them; ``None`` when another
    sealer is at work."""
    if _head(session, AUDIT) is None:
        return None
    done = {}
    for chain in CHAINS:
        head = _head(session, chain)
        if head is None:  # only a lease holder locks the others: not reached in practice
            return None
        model = chain.model
        rows = session.scalars(
            select(model).where(model.seq.is_(None)).order_by(model.id).limit(batch)
        ).all()
        if rows:
            head.hash = chain.link(session, rows, head.seq, head.hash, now)
            head.seq, head.sealed_at = head.seq + len(rows), now
        done[chain.name] = (len(rows), head)
    session.flush()
    return done


def seal(
    session_factory: sessionmaker[Session],
    now: datetime,
    *,
    batch: int = 1000,
    heads_file: str | None = None,
    max_batches: int | None = None,
) -> Sealed:
    """Seal everything unsealed, one transaction per batch; publish each batch's heads."""
    counts = dict.fromkeys((c.name for c in CHAINS), 0)
    ends: dict[str, int | None] = dict.fromkeys(counts)
    batches = 0
    busy = False
    while max_batches is None or batches < max_batches:
        try:
            with session_factory() as session, session.begin():
                done = seal_batch(session, now, batch)
                published = [
                    _published(chain, *done[chain.name])
                    for chain in CHAINS
                    if done is not None and done[chain.name][0]
                ]
                for name, (_, head) in (done or {}).items():
                    ends[name] = head.seq
        except IntegrityError as err:
            if "audit_seal" not in str(err):
                raise
            done = None  # lost the first insert of a head: the other sealer goes on
        if done is None:
            busy = True
            break
        for head in published:
            publish(heads_file, head)
        if published:
            batches += 1
        for name, (count, _) in done.items():
            counts[name] += count
        if all(count < batch for count, _ in done.values()):
            break
    return Sealed(
        counts[AUDIT.name],
        batches,
        ends[AUDIT.name],
        busy=busy,
        entries=counts[REGISTER.name],
        register_seq=ends[REGISTER.name],
    )


def _published(chain: Chain, count: int, head: AuditSeal) -> dict[str, Any]:
    return {
        "chain": chain.name,
        "seq": head.seq,
        "hash": head.hash,
        "sealed_at": head.sealed_at.isoformat() if head.sealed_at else None,
        chain.noun: count,
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
        log.exception("could not publish a chain's head to %s", heads_file)


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
    session: Session,
    now: datetime,
    bound_seconds: float,
    heads_file: str | None = None,
    chain: Chain = AUDIT,
) -> dict[str, Any]:
    """``chain`` recomputed, its end against its head row and the published heads, and its rows
    left unsealed for longer than ``bound_seconds``: what ``verify`` answers."""
    verified = chain.verify(session)
    report: dict[str, Any] = verified.to_dict()
    if verified.ok:
        broken = _against_heads(session, chain, verified.checked, heads_file)
        if broken is not None:
            report.update(ok=False, broken_at={"seq": broken[0], "reason": broken[1]})
    model, at = chain.model, getattr(chain.model, chain.at)
    unsealed = session.scalar(select(func.count()).where(model.seq.is_(None)))
    report["unsealed"] = unsealed
    report["heads_file"] = bool(heads_file)
    late_at = now - timedelta(seconds=bound_seconds)
    late = session.execute(
        select(func.count(), func.min(at)).where(model.seq.is_(None), at < late_at)
    ).one()
    if late[0]:
        report["ok"] = False
        report["late"] = {"count": late[0], "oldest_at": late[1].isoformat()}
    return report


def _against_heads(
    session: Session, chain: Chain, end: int, heads_file: str | None
) -> tuple[int | None, str] | None:
    """Where the database's chain disagrees with its head row or the published heads."""
    head = session.get(AuditSeal, chain.head_id)
    if head is not None and head.seq != end:
        return end + 1, f"the chain ends at {end} but was sealed up to {head.seq}"
    if not heads_file:
        return None
    try:
        heads = read_heads(heads_file)
    except ValueError as err:
        return None, str(err)
    # Heads written before the register was sealed name no chain: the audit trail's.
    ours = [h for h in heads if h.get("chain", AUDIT.name) == chain.name]
    for published in sorted(ours, key=lambda h: h["seq"]):
        if published["seq"] > end:
            return published["seq"], "a published head is missing from the database"
        stored = session.scalar(select(chain.model.hash).where(chain.model.seq == published["seq"]))
        if stored != published["hash"]:
            return published["seq"], "differs from the head published outside the database"
    return None
