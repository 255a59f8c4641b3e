"""Hash chains shared by the audit trail and the sharing register.

Each row stores the previous row's hash and a hash of its own content; recomputing them in
order finds the first row that was edited, inserted or removed behind the service's back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

GENESIS = "0" * 64


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        body: dict[str, Any] = {"ok": self.ok, "checked": self.checked}
        if not self.ok:
            body["broken_at"] = {"seq": self.broken_at, "reason": self.reason}
        return body


def verify_chain(
    session: Session,
    model: type,
    key: str,
    digest: Callable[[Any], str],
    noun: str = "entry",
    batch: int = 5000,
    tombstone: Callable[[Any], str] | None = None,
) -> Verification:
    """Walk ``model`` in order of its integer ``key`` (1, 2, …) and check every link.

    A row purged by retention no longer holds what its ``hash`` was computed over; it keeps
    that hash (so the links on both sides still hold) and a ``tombstone``: a hash over the
    original hash and the fields kept, recomputed here by ``tombstone`` instead of ``digest``.
    """
    column = getattr(model, key)
    expected_prev, expected_key, checked = GENESIS, 1, 0
    while True:
        rows = session.scalars(
            select(model).where(column >= expected_key).order_by(column).limit(batch)
        ).all()
        if not rows:
            return Verification(True, checked)
        for row in rows:
            number = getattr(row, key)
            if number != expected_key:
                return Verification(False, checked, expected_key, f"an {noun} is missing")
            if row.prev_hash != expected_prev:
                return Verification(False, checked, number, "does not follow the one before")
            purged = tombstone is not None and getattr(row, "tombstone", None) is not None
            if purged and tombstone(row) != row.tombstone:
                return Verification(False, checked, number, "its tombstone does not match")
            if not purged and digest(row) != row.hash:
                return Verification(False, checked, number, "its content was changed")
            checked += 1
            expected_prev, expected_key = row.hash, number + 1
        session.expunge_all()
