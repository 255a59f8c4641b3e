"""The sharing register's hash chain: what an entry's hash covers, how the sealer chains
entries, how a retention purge leaves a tombstone, and how the chain is checked.

Recording an entry (``records.register.record``) is a plain INSERT with an ``id`` from the
database: no lock, no read of the last entry (issue 16). The sealer (``records.sealing``, the
same lease and published heads as the audit trail's) later gives each unsealed entry, oldest
``id`` first, its place in the chain (``seq``), the previous entry's hash and its own
(:func:`digest`), with a Core ``UPDATE`` that the append-only trigger of migration 0017 allows
only on an unsealed row and only for those columns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from records.chain import Verification, verify_chain
from storage.models import SharingRecord

TEXT_FIELDS = (
    "consent_status",
    "consent_override_reason",
    "lawful_basis",
    "purpose",
    "information_shared",
    "method",
    "necessity_and_proportionality",
    "advice_sought_from",
    "views_of_child_or_family",
    "not_informed_reason",
    "reasons",
)
# ``seq`` is not hashed (entries chained before migration 0017 keep their digests): the order is
# fixed by the links, each ``prev_hash`` naming one hash.
HASHED = (
    "id",
    "instance_id",
    "source_task_id",
    "child",
    "decision",
    "with_consent",
    *TEXT_FIELDS,
    "recipients",
    "subject_informed",
    "decided_by",
    "decided_at",
    "recorded_at",
    "corrects",
    "prev_hash",
)
# Hashed only when set (migration 0015): entries recorded before the column existed keep the
# digest and tombstone they were chained with.
HASHED_WHEN_SET = ("follows",)
# The hash names each value by its column: the business key's column is "child" (the attribute
# is ``business_key``), so entries chained before the attribute's rename keep their digest.
ATTRIBUTE_OF = {"child": "business_key"}  # a hashed column name -> its model attribute


# Retention (records.retention): what a purge keeps and what it empties. The database
# trigger (migrations 0008, 0015, 0017) allows exactly this update and nothing else.
PURGED = "(purged)"
KEPT = (
    "id",
    "instance_id",
    "source_task_id",
    "decision",
    "with_consent",
    "consent_status",
    "lawful_basis",
    "method",
    "necessity_and_proportionality",
    "advice_sought_from",
    "subject_informed",
    "decided_by",
    "decided_at",
    "recorded_at",
    "corrects",
    "prev_hash",
    "hash",
    "purged_at",
)
IDENTIFYING = (
    "business_key",
    "consent_override_reason",
    "purpose",
    "information_shared",
    "views_of_child_or_family",
    "not_informed_reason",
)


def _with_set(row: SharingRecord, body: dict[str, Any]) -> dict[str, Any]:
    for name in HASHED_WHEN_SET:
        if getattr(row, name) is not None:
            body[name] = getattr(row, name)
    return body


def _value(row: Any, name: str) -> Any:
    """A hashed column's value: by its attribute on a mapped entry, by its column name on a row
    read with plain SQL (the migration that first sealed the old entries reads them so)."""
    attribute = ATTRIBUTE_OF.get(name, name)
    return getattr(row, attribute) if hasattr(row, attribute) else getattr(row, name)


def digest(row: Any) -> str:
    """The hash of a sealed entry: every column it was recorded with and the previous hash."""
    body = _with_set(row, {name: _value(row, name) for name in HASHED})
    for name in ("decided_at", "recorded_at"):
        body[name] = body[name].isoformat()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def link(
    session: Session, rows: Sequence[SharingRecord], seq: int, previous: str, now: datetime
) -> str:
    """Chain ``rows`` (unsealed, oldest first) after ``seq``/``previous``; the last hash.

    Core ``UPDATE``s, each guarded by ``seq IS NULL``: the mapper refuses any ORM update of an
    entry (append-only), and the trigger lets exactly this one through.
    """
    for row in rows:
        seq += 1
        # A copy to hash: the mapped row itself must stay unchanged in the session.
        names = (ATTRIBUTE_OF.get(n, n) for n in (*HASHED, *HASHED_WHEN_SET))
        chained = SimpleNamespace(**{n: getattr(row, n) for n in names})
        chained.prev_hash = previous
        previous, before = digest(chained), previous
        session.execute(
            update(SharingRecord)
            .where(SharingRecord.id == row.id, SharingRecord.seq.is_(None))
            .values(seq=seq, prev_hash=before, hash=previous, sealed_at=now),
            execution_options={"synchronize_session": False},
        )
    return previous


def _tombstone(row: SharingRecord) -> str:
    """A purged entry's hash: its original hash and every field a purge keeps, the recipients'
    agencies included, so the decision, dates and agencies stay tamper-evident."""
    body = _with_set(row, {name: getattr(row, name) for name in KEPT})
    for name in ("decided_at", "recorded_at", "purged_at"):
        body[name] = body[name].isoformat()
    body["agencies"] = sorted(r["agency"] for r in row.recipients or [])
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def purge(session: Session, ids: list[int], now: datetime) -> list[str]:
    """Empty the identifying fields of sealed entries ``ids`` (retention); their tombstones.

    A Core ``UPDATE`` (the mapper's append-only guard is for the ORM's unit of work); the
    database trigger checks that the statement is this purge and nothing more.
    """
    tombstones = []
    for row in session.scalars(
        select(SharingRecord).where(
            SharingRecord.id.in_(ids),
            SharingRecord.purged_at.is_(None),
            SharingRecord.seq.is_not(None),
        )
    ).all():
        values = dict.fromkeys(IDENTIFYING)
        values["reasons"] = PURGED
        values["recipients"] = [{"agency": r["agency"]} for r in row.recipients or []]
        values["purged_at"] = now
        kept = {n: getattr(row, n) for n in (*KEPT, *HASHED_WHEN_SET) if n != "purged_at"}
        shadow = SharingRecord(**kept, **values)
        values["tombstone"] = _tombstone(shadow)
        session.execute(
            update(SharingRecord).where(SharingRecord.id == row.id).values(**values),
            execution_options={"synchronize_session": False},
        )
        tombstones.append(values["tombstone"])
    session.expire_all()
    return tombstones


def verify(session: Session) -> Verification:
    """Recompute the register's sealed chain in ``seq`` order; the first entry that does not fit.

    The database refuses updates and deletes, but someone with the database's owner rights can
    drop the triggers: this is how such an edit is found afterwards (and, with the heads
    published outside the database, a consistent rewrite: ``sealing.check``). Purged entries
    are checked against their tombstone.
    """
    return verify_chain(session, SharingRecord, "seq", digest, tombstone=_tombstone)
