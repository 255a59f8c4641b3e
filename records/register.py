"""The information-sharing register: every decision to share or not, append-only, hash-chained.

The diagram decides; this module records. ``information_sharing``'s script task
``record_decision`` leaves a ``register_entry`` dict in its task data. The engine reports every
script task that completed during an advance (``Advance.scripts``), and :func:`after_advance` —
called by the service after each advance, in the same transaction — writes one record per
script run that produced a ``register_entry``, enriched with what the script cannot know (who
decided, when, the child, who gave advice). The run's task id is stored in the unique
``source_task_id`` column, so a retried or replayed advance records nothing twice.

Rows are never changed: a correction is a new record whose ``corrects`` names the old one, and
what happens after a decision is recorded (the family told, or not and why) is a *linked* entry:
a script whose ``register_entry`` says ``'adds_to': 'last'`` is recorded with ``follows`` = this
instance's latest earlier entry. The chain works like the audit trail's
(``records.audit``): each record's hash covers its columns and the previous record's
hash, appended under a transaction-wide lock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from records.chain import GENESIS, Verification, verify_chain
from storage.models import SharingRecord, Task
from tasks import visibility
from workflows.events import Advance

_LOCK_KEY = 7_401_002  # pg_advisory_xact_lock key of the register's chain
DECISIONS = ("share", "not_share")
ENTRY_KEY = "register_entry"
ADDS_TO = ("last",)  # what a linked entry may follow: this instance's latest earlier entry
PROPORTIONATE = (
    "Confirmed necessary, proportionate, relevant, adequate, accurate, timely and secure"
)
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


# Retention (records.retention): what a purge keeps and what it empties. The database
# trigger of migration 0008 allows exactly this update and nothing else.
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
    "child",
    "consent_override_reason",
    "purpose",
    "information_shared",
    "views_of_child_or_family",
    "not_informed_reason",
)


class RegisterError(ValueError):
    """An entry that cannot be recorded; ``problems`` name each field (422)."""

    def __init__(self, problems: list[dict[str, str]]):
        super().__init__("; ".join(f"{p['field']} {p['message']}" for p in problems))
        self.problems = problems


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    """What is wrong with ``entry`` (empty when it can be recorded)."""
    problems = []
    if entry.get("adds_to") is not None and entry.get("adds_to") not in ADDS_TO:
        problems.append({"field": "adds_to", "message": "must be 'last' (or absent)"})
    if entry.get("decision") not in DECISIONS:
        problems.append({"field": "decision", "message": "must be share or not_share"})
    if not isinstance(entry.get("with_consent", False), bool):
        problems.append({"field": "with_consent", "message": "must be true or false"})
    if _blank(entry.get("reasons")):
        problems.append({"field": "reasons", "message": "is required"})
    if entry.get("decision") == "share" and not entry.get("with_consent"):
        if _blank(entry.get("lawful_basis")):
            problems.append(
                {"field": "lawful_basis", "message": "is required to share without consent"}
            )
        if _blank(entry.get("reasons")) and _blank(entry.get("consent_override_reason")):
            problems.append(
                {
                    "field": "consent_override_reason",
                    "message": "a justification is required to share without consent",
                }
            )
    recipients = entry.get("recipients") or []
    if not isinstance(recipients, list) or not all(
        isinstance(r, dict) and isinstance(r.get("agency"), str) for r in recipients
    ):
        problems.append({"field": "recipients", "message": "must be a list of {agency, person?}"})
    return problems


def _with_set(row: SharingRecord, body: dict[str, Any]) -> dict[str, Any]:
    for name in HASHED_WHEN_SET:
        if getattr(row, name) is not None:
            body[name] = getattr(row, name)
    return body


def _digest(row: SharingRecord) -> str:
    body = _with_set(row, {name: getattr(row, name) for name in HASHED})
    for name in ("decided_at", "recorded_at"):
        body[name] = body[name].isoformat()
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    entry: Mapping[str, Any],
    *,
    instance_id: str | None,
    decided_by: str | None,
    now: datetime,
    child: str | None = None,
    source_task_id: str | None = None,
    corrects: int | None = None,
    follows: int | None = None,
) -> SharingRecord:
    """Append ``entry`` to the register in the session's transaction; :class:`RegisterError`
    when it cannot be recorded (e.g. a share without consent and without a lawful basis).
    ``follows`` links it to the earlier entry it adds to (e.g. the family told after the
    decision), which stays as it was."""
    problems = check(entry)
    if problems:
        raise RegisterError(problems)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    last = session.execute(
        select(SharingRecord.id, SharingRecord.hash).order_by(SharingRecord.id.desc()).limit(1)
    ).first()
    row = SharingRecord(
        id=(last[0] + 1) if last else 1,
        instance_id=instance_id if instance_id is not None else entry.get("instance_id"),
        source_task_id=source_task_id,
        child=child if child is not None else entry.get("child"),
        decision=entry["decision"],
        with_consent=bool(entry.get("with_consent")),
        recipients=[
            {"agency": r["agency"], **({"person": r["person"]} if r.get("person") else {})}
            for r in entry.get("recipients") or []
        ],
        subject_informed=entry.get("subject_informed"),
        decided_by=decided_by,
        decided_at=entry.get("decided_at") or now,
        recorded_at=now,
        corrects=corrects,
        follows=follows,
        prev_hash=last[1] if last else GENESIS,
    )
    for name in TEXT_FIELDS:
        value = entry.get(name)
        setattr(row, name, None if _blank(value) else str(value))
    row.hash = _digest(row)
    session.add(row)
    session.flush()
    return row


def from_process(data: Mapping[str, Any], advised_by: str | None) -> dict[str, Any]:
    """The register entry of a ``record_decision`` run: the script's ``register_entry`` plus
    what the answers given so far say about consent, recipients and proportionality.

    A linked entry (``adds_to``) adds one fact to the entry it follows: it gets only the
    recipients, purpose and consent status, so that it reads on its own; what was shared, how
    and why it was justified stay in the entry it follows and are not repeated."""
    entry = dict(data[ENTRY_KEY])
    if entry.get("adds_to") is not None:
        agency = entry.get("recipient_agency") or data.get("recipient_agency")
        consent = "not_sought" if data.get("consent_unsafe") else data.get("consent_outcome")
        linked = {
            "recipients": [{"agency": agency, "person": data.get("recipient_person")}]
            if agency
            else [],
            "purpose": data.get("purpose"),
            "consent_status": consent,
        }
        for name, value in linked.items():
            if entry.get(name) is None:
                entry[name] = value
        return entry
    sharing = entry.get("decision") == "share"
    if data.get("consent_unsafe"):
        consent = "not_sought"
        override = data.get("consent_unsafe_reason") or entry.get("reasons")
    else:
        consent = data.get("consent_outcome")
        refused = consent in ("refused", "not_obtained", "withdrawn")
        override = entry.get("reasons") if sharing and refused else None
    agency = entry.get("recipient_agency") or data.get("recipient_agency")
    person = data.get("recipient_person")
    defaults = {
        "consent_status": consent,
        "consent_override_reason": override if sharing and not entry.get("with_consent") else None,
        "purpose": data.get("purpose"),
        "information_shared": data.get("information_shared") if sharing else None,
        "recipients": [{"agency": agency, "person": person}] if agency else [],
        "method": data.get("method") if sharing else None,
        "necessity_and_proportionality": (
            PROPORTIONATE if sharing and data.get("necessary_and_proportionate") else None
        ),
        "advice_sought_from": advised_by,
        "views_of_child_or_family": data.get("views_of_child_or_family"),
        "subject_informed": data.get("subject_informed"),
        "not_informed_reason": data.get("not_informed_reason"),
    }
    for name, value in defaults.items():
        if entry.get(name) is None:
            entry[name] = value
    return entry


def after_advance(session: Session, advance: Advance, by: str | None, now: datetime) -> None:
    """Record each ``register_entry`` a script produced during ``advance`` (once per run)."""
    # Only an entry the script itself produced in this advance: one carried in from earlier
    # data (a caller's start variable, another run's entry) is not a decision.
    runs = [run for run in advance.scripts if run.produced(ENTRY_KEY) is not None]
    if not runs:
        return
    instance_id = advance.instance.id
    advised_by = session.scalar(
        select(Task.completed_by)
        .where(
            Task.instance_id == instance_id,
            Task.element_id == "give_advice",
            Task.status == "completed",
        )
        .order_by(Task.completed_at.desc())
        .limit(1)
    )
    hidden = visibility.step_only_of_definition(session, advance.instance.definition_id)
    for run in runs:
        done = session.scalar(
            select(SharingRecord.id).where(SharingRecord.source_task_id == run.task_id)
        )
        if done is not None:
            continue
        # Never a detail only a step's parties may see (tasks/visibility.py).
        entry = visibility.strip_entry(from_process(run.data, advised_by), run.data, hidden)
        follows = None
        if entry.get("adds_to") is not None:
            follows = session.scalar(
                select(SharingRecord.id)
                .where(SharingRecord.instance_id == instance_id)
                .order_by(SharingRecord.id.desc())
                .limit(1)
            )
            if follows is None:
                message = "there is no earlier register entry of this instance to add to"
                raise RegisterError([{"field": "adds_to", "message": message}])
        record(
            session,
            entry,
            instance_id=instance_id,
            decided_by=by,
            now=now,
            child=advance.instance.business_key,
            source_task_id=run.task_id,
            follows=follows,
        )


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
    """Empty the identifying fields of entries ``ids`` (retention); their tombstones.

    A Core ``UPDATE`` (the mapper's append-only guard is for the ORM's unit of work); the
    database trigger checks that the statement is this purge and nothing more.
    """
    tombstones = []
    for row in session.scalars(
        select(SharingRecord).where(SharingRecord.id.in_(ids), SharingRecord.purged_at.is_(None))
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
    """Recompute the register's hash chain; the first entry that does not fit, if any.

    The database refuses updates and deletes, but someone with the database's owner rights can
    drop the triggers: this is how such an edit is found afterwards. Purged entries are checked
    against their tombstone.
    """
    return verify_chain(session, SharingRecord, "id", _digest, tombstone=_tombstone)
