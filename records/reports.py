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
- **No child's identifier appears.** Only columns that cannot hold one are read (never the
  business key, free-text reasons), and the agency and lawful-basis labels come from the
  service's vocabulary (``vocabulary.py``), never from an entry's text: a value outside it is
  counted under "other".
- **Periods are whole London months** (``periods.py``). Each month is suppressed on its own;
  a longer period publishes a cell only where it is the sum of what its months publish
  (``combine``), so comparing reports uncovers nothing the month reports do not show.

Managers see the partnership-wide figures too (api.md gives them the report): aggregates with
small numbers suppressed name no case, so need-to-know does not narrow them.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from records import vocabulary
from records.disclosure import CONFIDENTIAL as WITHHELD_MARK
from records.disclosure import SMALL, Count, publish, suppress
from records.periods import Month, Period, label, month_of, month_start, next_month
from storage.models import Escalation, ProcessInstance, SharingRecord, Task
from tasks.calendar import DEFAULT_CALENDAR, WorkingCalendar

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


def _decision_rows(session: Session, months: list[Month]):
    if not months:
        return [], set()
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
        .where(
            # A linked entry (the family told after the decision) adds to a decision and is
            # not one: counted, it would make one share two.
            SharingRecord.follows.is_(None),
            SharingRecord.decided_at >= month_start(months[0]),
            SharingRecord.decided_at < month_start(next_month(months[-1])),
        )
        .order_by(SharingRecord.id)
    ).all()
    corrected = set(
        session.scalars(select(SharingRecord.corrects).where(SharingRecord.corrects.is_not(None)))
    )
    return rows, corrected


def _month_decisions(rows: list, month: Month) -> dict:
    """One month's tables, suppressed and withheld on their own (``_additive_tables``)."""
    outcome, consent, basis, agency = Counter(), Counter(), Counter(), Counter()
    for r in rows:
        outcome[r.decision] += 1
        if r.decision == "share":
            consent["share with consent" if r.with_consent else "share without consent"] += 1
            basis[vocabulary.lawful_basis(r.lawful_basis, r.with_consent)] += 1
        # Labels come from the vocabulary, never from the entry (a key typed as an agency).
        for name in {vocabulary.agency(x.get("agency")) for x in r.recipients or [] if x}:
            agency[name] += 1
    decisions = _additive_tables(
        len(rows),
        {
            "by_outcome": (outcome, ("share", "not_share")),
            "by_consent": (consent, ("share with consent", "share without consent")),
            "by_lawful_basis": (basis, [b for b in vocabulary.LAWFUL_BASES if basis[b]]),
            "by_month": (Counter({label(month): len(rows)}), [label(month)]),
        },
    )
    # A decision may go to several agencies or none: these do not add up to anything.
    decisions["by_agency"] = _rows(agency, [a for a in vocabulary.AGENCIES if agency[a]])
    return decisions


def _decisions(session: Session, months: list[Month], calendar: WorkingCalendar):
    rows, corrected = _decision_rows(session, months)
    # A corrected entry is superseded by its correction: count each decision once.
    current = [r for r in rows if r.id not in corrected]
    per_month = {m: [] for m in months}
    for r in current:
        per_month[month_of(r.decided_at)].append(r)
    decisions = _combine_decisions([_month_decisions(per_month[m], m) for m in months])
    days = [
        calendar.working_time_between(r.started_at, r.decided_at) / calendar.hours_per_day
        for r in rows
        if r.corrects is None and r.started_at is not None
    ]
    measured = Counter(month_of(r.decided_at) for r in rows if r.corrects is None and r.started_at)
    enough = len(days) >= SMALL
    timing = {
        "unit": "working days",
        "decisions": combine([suppress(measured[m]) for m in months]),
        "median": round(statistics.median(days), 1) if enough else None,
        "p90": round(_nearest_rank(days, 0.9), 1) if enough else None,
    }
    return decisions, timing


def combine(counts: list[Count]) -> Count:
    """A longer period's cell from its months' published cells: their sum when every month
    published a number; the one month's own mark when the others are 0; else withheld."""
    marks = [c for c in counts if not isinstance(c, int)]
    if not marks:
        return sum(counts)
    if len(marks) == 1 and not any(counts[i] for i, c in enumerate(counts) if isinstance(c, int)):
        return marks[0]
    return WITHHELD_MARK


def _combine_rows(tables: list[list[dict]], key: str = "label") -> list[dict]:
    labels = list(dict.fromkeys(row[key] for table in tables for row in table))
    found = [{row[key]: row["count"] for row in table} for table in tables]
    return [{key: lb, "count": combine([f.get(lb, 0) for f in found])} for lb in labels]


def _combine_decisions(months: list[dict]) -> dict:
    if len(months) == 1:
        return months[0]
    result: dict[str, Any] = {"total": combine([m["total"] for m in months]) if months else 0}
    for name in ("by_outcome", "by_consent", "by_lawful_basis", "by_agency"):
        result[name] = _combine_rows([m[name] for m in months])
    result["by_month"] = [row for m in months for row in m["by_month"]]
    if months:
        order = {"by_lawful_basis": vocabulary.LAWFUL_BASES, "by_agency": vocabulary.AGENCIES}
        for name, words in order.items():
            result[name].sort(key=lambda row, words=words: words.index(row["label"]))
    return result


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


def _tasks(session: Session, months: list[Month], now: datetime) -> list[dict[str, Any]]:
    """On time and late per step, each month suppressed on its own, then combined; and the
    steps open and overdue now."""
    if not months:
        return []
    bounds = [month_start(m) for m in months[1:]]
    # Grouped by the output column's name: PostgreSQL would not match a repeated CASE whose
    # bounds are parameters.
    index = (
        case(*[(Task.completed_at < b, i) for i, b in enumerate(bounds)], else_=len(bounds))
        if bounds
        else literal_column("0")
    ).label("report_month")
    on_time = func.sum(case((Task.completed_at <= Task.due_at, 1), else_=0))
    late = func.sum(case((Task.completed_at > Task.due_at, 1), else_=0))
    rows = session.execute(
        select(ProcessInstance.process_key, Task.element_id, Task.name, index, on_time, late)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(
            Task.status == "completed",
            Task.due_at.is_not(None),
            Task.completed_at >= month_start(months[0]),
            Task.completed_at < month_start(next_month(months[-1])),
        )
        .group_by(
            ProcessInstance.process_key, Task.element_id, Task.name, literal_column("report_month")
        )
    ).all()
    steps: dict[tuple, tuple[list[Count], list[Count]]] = {}
    for key, element, name, month, ok, bad in rows:
        cells = steps.setdefault(
            (key, element, name or element), ([0] * len(months), [0] * len(months))
        )
        cells[0][month], cells[1][month] = suppress(int(ok or 0)), suppress(int(bad or 0))
    overdue = _open_late(session, now)
    for key, element, name in overdue:
        steps.setdefault((key, element, name), ([0] * len(months), [0] * len(months)))
    return [
        {
            "process": key,
            "step": element,
            "name": name,
            "on_time": combine(ok),
            "late": combine(bad),
            "open_late": suppress(overdue.get((key, element, name), 0)),
        }
        for (key, element, name), (ok, bad) in sorted(steps.items())
    ]


def _open_late(session: Session, now: datetime) -> Counter:
    """Steps open now and past their due time, whatever the period: a late step that is still
    waiting is the latest of all, and counting only completed ones would hide it."""
    rows = session.execute(
        select(ProcessInstance.process_key, Task.element_id, Task.name, func.count())
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(Task.status == "open", Task.due_at.is_not(None), Task.due_at < now)
        .group_by(ProcessInstance.process_key, Task.element_id, Task.name)
    ).all()
    return Counter({(key, element, name or element): n for key, element, name, n in rows})


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


def _earliest(session: Session) -> Month | None:
    """The first month with anything to report (an open-ended period starts there)."""
    firsts = [
        session.scalar(select(func.min(SharingRecord.decided_at))),
        session.scalar(select(func.min(Task.completed_at)).where(Task.status == "completed")),
    ]
    found = [f for f in firsts if f is not None]
    return month_of(min(found)) if found else None


def sharing_report(
    session: Session,
    period: Period,
    now: datetime,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> dict[str, Any]:
    """The whole report, small numbers suppressed, no child identifier (see the module doc)."""
    months = period.months(_earliest(session) if period.first is None else None, now)
    decisions, timing = _decisions(session, months, calendar)
    return {
        "from": month_start(months[0]).isoformat() if months else None,
        "to": month_start(next_month(months[-1])).isoformat() if months else None,
        "months": [label(m) for m in months],
        "generated_at": now.isoformat(),
        "small_numbers": SMALL_NUMBERS_NOTE,
        "decisions": decisions,
        "time_to_decision": timing,
        "tasks": _tasks(session, months, now),
        "open_escalations": _escalations(session),
    }
