"""The Board's report on information sharing (issue 6 point 4, api.md "reports").

What the partnership's Board monitors (protocol §2, "systems for monitoring and auditing
information sharing practice"): decisions by outcome, consent, lawful basis, agency and month;
how many working days a decision took from the request; whether each process step is done on
time; which professional disagreements are open and at what stage.

Two promises hold for everything this module returns:

- **Small numbers are suppressed.** Every count from 1 to 4 is the string ``"<5"``; 0 stays 0
  (an empty cell discloses nothing about a person, and the Board needs to see "no late tasks").
  The median and 90th percentile are withheld (null) when fewer than 5 decisions are measured.
  The same suppressed figures go to the JSON answer, the CSV file and the page: whatever the
  Board sees can be exported, so there is one report, not a raw one and a safe one.
- **No child identifier appears.** Only columns that cannot hold one are read (never ``child``,
  ``business_key``, free-text reasons); free-text labels that could (lawful basis) are dropped
  to ``"(withheld)"`` if they contain the business key of any child in the register.

Managers see the partnership-wide figures too (api.md gives them the report): aggregates with
small numbers suppressed name no case, so need-to-know does not narrow them.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from service.records.disclosure import SMALL, publish, suppress
from storage.models import Escalation, ProcessInstance, SharingRecord, Task
from tasks.calendar import DEFAULT_CALENDAR, WorkingCalendar

WITHHELD = "(withheld)"
SMALL_NUMBERS_NOTE = (
    'Counts from 1 to 4 are shown as "<5", and "[c]" marks a count withheld so that a "<5" '
    "cannot be worked out from a total; medians need at least 5 decisions."
)
ESCALATION_STAGES = {
    "describe_disagreement": "Being described",
    "resolve_stage1": "Stage 1: practitioners",
    "resolve_stage2": "Stage 2: managers or DSLs",
    "resolve_stage3": "Stage 3: senior leads",
    "resolve_stage4": "Stage 4: senior managers",
}
INBOX_KINDS = {
    "overdue_task": "Manager inbox: overdue tasks",
    "disagreement": "Manager inbox: disagreements",
    "advice_request": "Manager inbox: advice requests",
}
NOT_A_TIME = "not a date (YYYY-MM-DD) nor an ISO 8601 time with offset"


@dataclass(frozen=True)
class Period:
    """The half-open window ``[start, end)`` of ``decided_at`` / ``completed_at``."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, column):
        conditions = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return and_(true(), *conditions)


def parse_bound(value: str | None, *, end: bool, calendar: WorkingCalendar) -> datetime | None:
    """``YYYY-MM-DD`` (a whole local day; ``to`` includes that day) or an ISO 8601 time with an
    offset (``to`` exclusive, as for the register). ``ValueError`` names what is wrong."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        raise ValueError(f"{value!r} is {NOT_A_TIME}") from None
    if day is not None:
        day = day + timedelta(days=1) if end else day
        return datetime.combine(day, time(0), tzinfo=calendar.zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is {NOT_A_TIME}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} needs a UTC offset")
    return moment


def _labels(counter: Counter, order: Iterable[str] | None = None) -> list[str]:
    return list(order) if order is not None else sorted(counter, key=lambda k: (-counter[k], k))


def _rows(counter: Counter, order: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Rows of a table whose counts are published on their own (no total to subtract from)."""
    return [
        {"label": label, "count": suppress(counter.get(label, 0))}
        for label in _labels(counter, order)
    ]


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class _Guard:
    """Replaces any label that contains a child's identifier."""

    def __init__(self, session: Session):
        keys = session.scalars(select(SharingRecord.child).where(SharingRecord.child.is_not(None)))
        bkeys = session.scalars(
            select(ProcessInstance.business_key).where(ProcessInstance.business_key.is_not(None))
        )
        self.keys = {k.casefold() for k in (*keys, *bkeys) if k and len(k) >= 3}

    def __call__(self, label: str) -> str:
        folded = label.casefold()
        return WITHHELD if any(key in folded for key in self.keys) else label


def _decisions(session: Session, period: Period, calendar: WorkingCalendar, guard: _Guard):
    rows = session.execute(
        select(
            SharingRecord.id,
            SharingRecord.decision,
            SharingRecord.with_consent,
            SharingRecord.lawful_basis,
            SharingRecord.recipients,
            SharingRecord.decided_at,
            SharingRecord.corrects,
            ProcessInstance.started_at,
        )
        .outerjoin(ProcessInstance, ProcessInstance.id == SharingRecord.instance_id)
        .where(period.holds(SharingRecord.decided_at))
        .order_by(SharingRecord.id)
    ).all()
    corrected = set(
        session.scalars(select(SharingRecord.corrects).where(SharingRecord.corrects.is_not(None)))
    )
    # A corrected entry is superseded by its correction: count each decision once.
    current = [r for r in rows if r.id not in corrected]
    outcome, consent, basis, agency, month = Counter(), Counter(), Counter(), Counter(), Counter()
    for r in current:
        outcome[r.decision] += 1
        if r.decision == "share":
            consent["share with consent" if r.with_consent else "share without consent"] += 1
            basis[guard(r.lawful_basis.strip()[:200]) if r.lawful_basis else "consent"] += 1
        for agency_name in {x.get("agency") for x in r.recipients or [] if x.get("agency")}:
            agency[guard(agency_name)] += 1
        month[r.decided_at.astimezone(calendar.zone).strftime("%Y-%m")] += 1
    days = [
        calendar.working_time_between(r.started_at, r.decided_at) / calendar.hours_per_day
        for r in rows
        if r.corrects is None and r.started_at is not None
    ]
    enough = len(days) >= SMALL
    timing = {
        "unit": "working days",
        "decisions": suppress(len(days)),
        "median": round(statistics.median(days), 1) if enough else None,
        "p90": round(_nearest_rank(days, 0.9), 1) if enough else None,
    }
    decisions = _additive_tables(
        len(current),
        {
            "by_outcome": (outcome, ("share", "not_share")),
            "by_consent": (consent, ("share with consent", "share without consent")),
            "by_lawful_basis": (basis, None),
            "by_month": (month, sorted(month)),
        },
    )
    # A decision may go to several agencies or none: these do not add up to anything.
    decisions["by_agency"] = _rows(agency)
    return decisions, timing


# Which tables add up to which cell: every decision has one outcome and one month; every share
# is with or without consent and has one lawful basis.
PARENTS = {
    "by_outcome": "total",
    "by_month": "total",
    "by_consent": ("by_outcome", "share"),
    "by_lawful_basis": ("by_outcome", "share"),
}


def _additive_tables(total: int, tables: dict[str, tuple[Counter, Iterable[str] | None]]) -> dict:
    """The total and the tables under it, withheld together (``disclosure.publish``)."""
    labels = {name: _labels(counter, order) for name, (counter, order) in tables.items()}
    counts = {"total": total}
    for name, (counter, _) in tables.items():
        counts |= {(name, label): counter.get(label, 0) for label in labels[name]}
    groups = [(PARENTS[name], [(name, label) for label in labels[name]]) for name in tables]
    published = publish(counts, groups)
    result: dict[str, Any] = {"total": published["total"]}
    for name in tables:
        result[name] = [{"label": lb, "count": published[(name, lb)]} for lb in labels[name]]
    return result


def _tasks(session: Session, period: Period) -> list[dict[str, Any]]:
    on_time = func.sum(case((Task.completed_at <= Task.due_at, 1), else_=0))
    late = func.sum(case((Task.completed_at > Task.due_at, 1), else_=0))
    rows = session.execute(
        select(ProcessInstance.process_key, Task.element_id, Task.name, on_time, late)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(
            Task.status == "completed",
            Task.due_at.is_not(None),
            Task.completed_at.is_not(None),
            period.holds(Task.completed_at),
        )
        .group_by(ProcessInstance.process_key, Task.element_id, Task.name)
        .order_by(ProcessInstance.process_key, Task.element_id)
    ).all()
    return [
        {
            "process": key,
            "step": element,
            "name": name or element,
            "on_time": suppress(int(ok or 0)),
            "late": suppress(int(bad or 0)),
        }
        for key, element, name, ok, bad in rows
    ]


def _escalations(session: Session) -> list[dict[str, Any]]:
    """Open now, whatever the period: the Board asks what is stuck today."""
    stages = Counter(
        dict(
            session.execute(
                select(Task.element_id, func.count())
                .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
                .where(
                    ProcessInstance.process_key == "escalation",
                    ProcessInstance.status == "running",
                    Task.status == "open",
                    Task.element_id.in_(ESCALATION_STAGES),
                )
                .group_by(Task.element_id)
            ).all()
        )
    )
    inbox = Counter(
        dict(
            session.execute(
                select(Escalation.kind, func.count())
                .where(Escalation.status == "open", Escalation.kind.in_(INBOX_KINDS))
                .group_by(Escalation.kind)
            ).all()
        )
    )
    return [
        {"stage": label, "count": suppress(stages.get(element, 0))}
        for element, label in ESCALATION_STAGES.items()
    ] + [
        {"stage": label, "count": suppress(inbox.get(kind, 0))}
        for kind, label in INBOX_KINDS.items()
    ]


def sharing_report(
    session: Session,
    period: Period,
    now: datetime,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> dict[str, Any]:
    """The whole report, small numbers suppressed, no child identifier (see the module doc)."""
    guard = _Guard(session)
    decisions, timing = _decisions(session, period, calendar, guard)
    return {
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
        "generated_at": now.isoformat(),
        "small_numbers": SMALL_NUMBERS_NOTE,
        "decisions": decisions,
        "time_to_decision": timing,
        "tasks": _tasks(session, period),
        "open_escalations": _escalations(session),
    }
