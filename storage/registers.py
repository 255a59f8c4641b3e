"""The audit trail's and the registers' tables: rows that are appended, chained and purged, never
edited (the sharing register refuses an UPDATE or DELETE through the ORM).

Named again in ``storage.models`` with every other table, so alembic and callers see one list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, new_id
from storage.types import UTCDateTime

# A partial index of the rows the sealer has still to chain (few at any time).
UNSEALED = {"postgresql_where": text("seq IS NULL"), "sqlite_where": text("seq IS NULL")}


class AuditEvent(Base):
    """One thing someone did or read, chained to the one before by its hash.

    Appending is a plain INSERT (``id`` from the database, nothing else read or locked); the
    sealer (``service/records/sealing.py``) later gives each event its place in the chain:
    ``seq``, ``prev_hash`` and ``hash``, which covers every column and the previous event's
    hash, so changing, inserting or deleting a sealed row behind the service's back breaks the
    chain at that row. Unsealed events have ``seq``, ``prev_hash``, ``hash`` and ``sealed_at``
    null (migration 0016).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_instance", "instance_id", "id"),
        Index("ix_audit_event_case", "case_key", "id"),
        Index("ix_audit_event_actor", "actor", "id"),
        # What the sealer looks for: only the (few) events not sealed yet.
        Index("ix_audit_event_unsealed", "id", **UNSEALED),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(40))
    case_key: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    task_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict | None] = mapped_column(JSON)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Retention (migration 0008): when the identifying fields were purged, and a hash over the
    # original ``hash`` and the fields kept, which the chain's verifier checks instead.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tombstone: Mapped[str | None] = mapped_column(String(64))


class AuditSeal(Base):
    """The head of each sealed chain — ``id`` 1 the audit trail's, 2 the sharing register's
    (migration 0017) — and, row 1, the sealer's lease.

    A sealer locks row 1 for its batch (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a second
    sealer skips instead of waiting; SQLite's single writer does the same), reads where each
    chain ends, and moves it on in the same transaction as the rows it seals.
    """

    __tablename__ = "audit_seal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Consent(Base):
    """Consent to share, per child (and family member), with its scope; withdrawn, never deleted."""

    __tablename__ = "consent"
    __table_args__ = (Index("ix_consent_child", "child", "recorded_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    business_key: Mapped[str] = mapped_column("child", String(200))  # column name kept
    person: Mapped[str] = mapped_column(String(200))  # "child" or the family member who gave it
    agencies: Mapped[list[str]] = mapped_column(JSON)
    purposes: Mapped[list[str]] = mapped_column(JSON)
    how: Mapped[str] = mapped_column(String(40))  # verbal | written | electronic
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(80))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class SharingRecord(Base):
    """One entry of the information-sharing register: a decision to share or not, and why.

    Append-only: a correction is a new row naming the one it corrects (``corrects``), a later
    fact about a decision a new row naming the one it follows (``follows``). Updates
    and deletes are refused by database triggers (migration 0006) and, before SQL is even
    sent, by the mapper events below. Recorded with a plain INSERT (``id`` from the database),
    an entry is chained later by the sealer (migration 0017): ``seq``, ``prev_hash``, ``hash``
    (over every column and the previous hash) and ``sealed_at`` stay null until then.
    ``source_task_id`` is the script task that produced the entry: unique, so a decision is
    recorded once however often its advance is retried.
    """

    __tablename__ = "sharing_record"
    __table_args__ = (
        Index("ix_sharing_record_child", "child", "id"),
        Index("ix_sharing_record_instance", "instance_id"),
        Index("ix_sharing_record_decided_at", "decided_at"),
        Index("ix_sharing_record_unsealed", "id", **UNSEALED),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    source_task_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    business_key: Mapped[str | None] = mapped_column("child", String(200))  # column name kept
    decision: Mapped[str] = mapped_column(String(20))  # share | not_share
    with_consent: Mapped[bool] = mapped_column(Boolean)
    consent_status: Mapped[str | None] = mapped_column(String(40))
    consent_override_reason: Mapped[str | None] = mapped_column(Text)
    lawful_basis: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str | None] = mapped_column(Text)
    information_shared: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[dict]] = mapped_column(JSON, default=list)
    method: Mapped[str | None] = mapped_column(String(40))
    necessity_and_proportionality: Mapped[str | None] = mapped_column(Text)
    advice_sought_from: Mapped[str | None] = mapped_column(String(80))
    views_of_child_or_family: Mapped[str | None] = mapped_column(Text)
    subject_informed: Mapped[bool | None] = mapped_column(Boolean)
    not_informed_reason: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    corrects: Mapped[int | None] = mapped_column(ForeignKey("sharing_record.id"))
    # A linked entry (migration 0015): what happened after the decision it follows (the family
    # told, or not and why), added instead of changing that entry. Hashed when set.
    follows: Mapped[int | None] = mapped_column(ForeignKey("sharing_record.id"))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Retention (migration 0008): when the identifying fields were purged, and a hash over the
    # original ``hash`` and the fields kept, which the chain's verifier checks instead.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tombstone: Mapped[str | None] = mapped_column(String(64))


class AppendOnlyError(Exception):
    """An attempt to change or remove a row of an append-only table."""


def _refuse(action: str):
    def listener(_mapper, _connection, target) -> None:
        raise AppendOnlyError(
            f"{target.__tablename__} is append-only: a row cannot be {action}; "
            "record a correction instead"
        )

    return listener


event.listen(SharingRecord, "before_update", _refuse("updated"))
event.listen(SharingRecord, "before_delete", _refuse("deleted"))
