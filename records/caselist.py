"""My cases: the children whose cases a person may see, where each one stands, and search.

A practitioner who finished their step still needs the case (the manager's review comes back,
a parent rings): the list is every case the person may see by need-to-know
(``tasks.parties.instance_visible``), open or closed, not only those with work for them. A
case waiting for someone else says so ("waiting for line managers (Review), due ..."), so it
does not seem to vanish.

A page costs four statements whatever its length: the page of case keys (grouped, sorted,
searched), the instances and the open steps of those cases, and their child records. The
search runs inside the visibility rule, so it never reveals a case the person may not see -
not even by a count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from records.children import nhs_digits, parse_date
from storage.children import ChildRecord
from storage.models import ProcessDefinition, ProcessInstance, Task
from tasks import parties
from workflows.roles import ROLE_LABELS

PER_PAGE = 25
LAST_PAGE = 4000  # beyond any partnership's caseload: a bounded OFFSET
SORTS = ("due", "child", "activity")  # next due step; business key; most recent change
OPEN = ("running", "error")
SEARCH_LENGTH = 200
LIKE_SPECIAL = re.compile(r"([\\%_])")


@dataclass(frozen=True)
class CaseQuery:
    """What the person asked for: search words, order and page (1 is the first)."""

    q: str = ""
    sort: str = "due"
    page: int = 1


@dataclass(frozen=True)
class Step:
    """An open step of the case and whose it is, from the viewer's side."""

    task: Task
    mine: bool  # assigned to the viewer
    claimable: bool  # unassigned, and one of its roles is the viewer's


@dataclass
class CaseRow:
    """One case as My cases shows it."""

    key: str
    record: ChildRecord | None  # the child record, if one was made
    processes: list[tuple[str, str]] = field(default_factory=list)  # (name, status)
    steps: list[Step] = field(default_factory=list)  # the viewer's first, then soonest due
    next_due: datetime | None = None
    last_activity: datetime | None = None
    open: bool = False
    failed: bool = False

    @property
    def headline(self) -> Step | None:
        return self.steps[0] if self.steps else None

    @property
    def status(self) -> str:
        """Where the case stands, in words (the due time is the page's to write)."""
        step = self.headline
        if step is None:
            if self.failed:
                return "stopped by a fault: an administrator has been told"
            if self.open:
                return "in progress: waiting for an event, not a person"
            return "closed"
        name = step.task.name or step.task.element_id
        if step.mine:
            return f"your step: {name}"
        if step.claimable:
            return f"your step: {name} (not claimed yet)"
        return f"waiting for {waiting_for(step.task)} ({name})"


def waiting_for(task: Task) -> str:
    """Who the step waits for: its holder, or the people of its roles ("line managers or
    designated safeguarding leads")."""
    if task.assignee:
        return task.assignee
    labels = [ROLE_LABELS.get(role, role) for role in task.candidate_roles or ()]
    return " or ".join(labels) or "someone to take it"


def _search(text: str) -> ColumnElement[bool] | None:
    """Cases whose key contains ``text``, whose child's name contains it, whose child was born
    on the date it is, or whose child has it as their NHS number or local person id."""
    text = text.strip()[:SEARCH_LENGTH]
    if not text:
        return None
    pattern = "%" + LIKE_SPECIAL.sub(r"\\\1", text.lower()) + "%"
    clauses = [
        func.lower(parties.case_key_column()).like(pattern, escape="\\"),
        func.lower(ChildRecord.display_name).like(pattern, escape="\\"),
        ChildRecord.la_person_id == text,
    ]
    born = parse_date(text)
    if born is not None:
        clauses.append(ChildRecord.date_of_birth == born)
    digits = nhs_digits(text)
    if re.fullmatch(r"[0-9]{10}", digits):
        clauses.append(ChildRecord.nhs_number == digits)
    return or_(*clauses)


def _keys_query(viewer: parties.Viewer, query: CaseQuery):
    """The page's case keys with their next due time and last change, sorted."""
    key = parties.case_key_column()
    next_due = func.min(Task.due_at)
    last = func.max(ProcessInstance.updated_at)
    running = func.max(case((ProcessInstance.status.in_(OPEN), 1), else_=0))
    statement = (
        select(key.label("case_key"), next_due.label("next_due"), last.label("last_activity"))
        .select_from(ProcessInstance)
        .outerjoin(Task, and_(Task.instance_id == ProcessInstance.id, Task.status == "open"))
        .where(parties.instance_visible(viewer))
    )
    matches = _search(query.q)
    if matches is not None:
        statement = statement.outerjoin(
            ChildRecord, ChildRecord.business_key == ProcessInstance.business_key
        ).where(matches)
    statement = statement.group_by(key)
    if query.sort == "child":
        order = [key]
    elif query.sort == "activity":
        order = [last.desc(), key]
    else:  # soonest due first, then open cases without a due time, then closed ones
        order = [next_due.is_(None), next_due, running.desc(), last.desc(), key]
    offset = (query.page - 1) * PER_PAGE
    return statement.order_by(*order).offset(offset).limit(PER_PAGE + 1)


def cases_page(
    session: Session, viewer: parties.Viewer, query: CaseQuery
) -> tuple[list[CaseRow], bool]:
    """One page of the viewer's cases and whether another page follows."""
    found = session.execute(_keys_query(viewer, query)).all()
    more = len(found) > PER_PAGE
    found = found[:PER_PAGE]
    keys = [row.case_key for row in found]
    if not keys:
        return [], more
    children = {
        row.business_key: row
        for row in session.scalars(select(ChildRecord).where(ChildRecord.business_key.in_(keys)))
    }
    rows = {
        row.case_key: CaseRow(
            row.case_key, children.get(row.case_key), next_due=row.next_due,
            last_activity=row.last_activity,
        )
        for row in found
    }  # fmt: skip
    instances = session.execute(
        select(
            ProcessInstance.id,
            parties.case_key_column().label("case_key"),
            ProcessInstance.process_key,
            ProcessInstance.status,
            ProcessDefinition.name,
        )
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(parties.case_key_column().in_(keys), parties.instance_visible(viewer))
        .order_by(ProcessInstance.started_at, ProcessInstance.id)
    ).all()
    case_of = {}
    for instance in instances:
        row = rows[instance.case_key]
        case_of[instance.id] = row
        row.processes.append((instance.name or instance.process_key, instance.status))
        row.open = row.open or instance.status in OPEN
        row.failed = row.failed or instance.status == "error"
    if case_of:
        tasks = session.scalars(
            select(Task).where(Task.instance_id.in_(list(case_of)), Task.status == "open")
        )
        for task in tasks:
            mine = task.assignee == viewer.username
            claimable = not task.assignee and bool(viewer.roles & set(task.candidate_roles or ()))
            case_of[task.instance_id].steps.append(Step(task, mine, claimable))
    for row in rows.values():
        row.steps.sort(key=_step_order)
    return [rows[key] for key in keys], more


def _step_order(step: Step) -> tuple:
    due = step.task.due_at
    return (not step.mine, not step.claimable, due is None, due.timestamp() if due else 0.0)
