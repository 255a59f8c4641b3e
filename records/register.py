"""The information-sharing register: every decision to share or not, append-only, hash-chained.

The diagram decides; this module records. ``information_sharing``'s script task
``record_decision`` leaves a ``register_entry`` dict in its task data. The engine reports every
script task that completed during an advance (``Advance.scripts``), and :func:`after_advance` —
called by the service after each advance, in the same transaction — writes one record per
script run that produced a ``register_entry``, enriched with what the script cannot know (who
decided, when, the business key, who gave advice). The run's task id is stored in the unique
``source_task_id`` column, so a retried or replayed advance records nothing twice.

Rows are never changed: a correction is a new record whose ``corrects`` names the old one, and
what happens after a decision is recorded (the family told, or not and why) is a *linked* entry:
a script whose ``register_entry`` says ``'adds_to': 'last'`` is recorded with ``follows`` = this
instance's latest earlier entry. Recording is a plain INSERT, ``id`` from the database: no lock,
no read of the last entry, so decisions never queue behind each other (issue 16). The hash chain
is made afterwards by the sealer that chains the audit trail (``records.sealing``; what a hash
covers, tombstones and the check: ``records.register_chain``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.register_chain import TEXT_FIELDS
from storage.models import SharingRecord, Task
from tasks import visibility
from workflows.events import Advance

DECISIONS = ("share", "not_share")
ENTRY_KEY = "register_entry"
ADDS_TO = ("last",)  # what a linked entry may follow: this instance's latest earlier entry
PROPORTIONATE = (
    "Confirmed necessary, proportionate, relevant, adequate, accurate, timely and secure"
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


def record(
    session: Session,
    entry: Mapping[str, Any],
    *,
    instance_id: str | None,
    decided_by: str | None,
    now: datetime,
    business_key: str | None = None,
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
    row = SharingRecord(
        instance_id=instance_id if instance_id is not None else entry.get("instance_id"),
        source_task_id=source_task_id,
        business_key=business_key if business_key is not None else entry.get("child"),
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
    )
    for name in TEXT_FIELDS:
        value = entry.get(name)
        setattr(row, name, None if _blank(value) else str(value))
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
            business_key=advance.instance.business_key,
            source_task_id=run.task_id,
            follows=follows,
        )
