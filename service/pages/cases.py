"""My cases (the cases a person may see, searchable) and the case view: every instance of one
child, the child's record, their diagrams, a timeline and the register.

Need-to-know is the route's rule (``@access(case_scoped=True)`` on ``business_key``): a case the
person may not see is a 404 exactly like one that does not exist, and the audit trail records
the read (or the refusal) with the case key. The diagrams are drawn in the browser by
``static/diagram.js`` from ``GET /api/process-instances/{id}/diagram``, which applies the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from flask import Blueprint, render_template, request
from pydantic import Field
from sqlalchemy import or_, select

from records import caselist, children
from service import trail
from service.access import access, viewer
from service.api.requests import is_whole_number
from service.api.schemas import Model
from service.api.sharing import READERS
from service.auth import current_user
from service.context import services, uow
from service.openapi import HTML, spec
from service.pages.listing import lateness, short_time
from storage.models import ProcessDefinition, ProcessInstance, SharingRecord, Task
from tasks import history, parties

bp = Blueprint("cases", __name__)
SHOWN = 100  # instances and register entries per case page


def instances_of_case(session, key: str, who: parties.Viewer) -> list[ProcessInstance]:
    """The case's instances ``who`` may see, oldest first: those with the business key, or the
    instance itself. Seeing one of a child's processes shows none of the others."""
    query = select(ProcessInstance).where(
        or_(
            ProcessInstance.business_key == key,
            (ProcessInstance.business_key.is_(None)) & (ProcessInstance.id == key),
        )
    )
    query = query.where(parties.instance_visible(who))
    order = (ProcessInstance.started_at, ProcessInstance.id)
    return list(session.scalars(query.order_by(*order).limit(SHOWN)))


def labels(session, instances: list[ProcessInstance]) -> dict[str, tuple[str, int | None]]:
    """Instance id -> (the name a reader knows it by, its version): the process's name, numbered
    in order of start when the case has more than one instance. The case page and the
    chronology name a process alike."""
    names = _names(session, instances)
    found = {}
    for number, row in enumerate(instances, start=1):
        name, version = names.get(row.definition_id, (row.process_key, None))
        found[row.id] = (f"{name} #{number}" if len(instances) > 1 else name, version)
    return found


def _names(session, instances: list[ProcessInstance]) -> dict[str, tuple[str, int]]:
    """Definition id -> (process name, version) for the instances shown."""
    ids = {row.definition_id for row in instances}
    if not ids:
        return {}
    rows = session.execute(
        select(
            ProcessDefinition.id,
            ProcessDefinition.name,
            ProcessDefinition.key,
            ProcessDefinition.version,
        ).where(ProcessDefinition.id.in_(ids))
    )
    return {row.id: (row.name or row.key, row.version) for row in rows}


def _open_tasks(session, instances: list[ProcessInstance]) -> dict[str, list[Task]]:
    found: dict[str, list[Task]] = {}
    ids = [row.id for row in instances]
    if ids:
        rows = session.scalars(
            select(Task)
            .where(Task.instance_id.in_(ids), Task.status == "open")
            .order_by(Task.created_at, Task.id)
        )
        for task in rows:
            found.setdefault(task.instance_id, []).append(task)
    return found


def register_of(session, user, instances: list[ProcessInstance]) -> list[SharingRecord] | None:
    """What of the register ``user`` reads beside ``instances``: their entries (threaded), or
    ``None`` for someone who may not read the register (admins run it, they do not read it)."""
    may_read_register = bool(user.roles & set(READERS))
    return _register(session, instances) if may_read_register else None


def _register(session, instances: list[ProcessInstance]) -> list[SharingRecord]:
    """The register entries of the instances shown (not of the child's other processes)."""
    ids = [row.id for row in instances]
    query = select(SharingRecord).where(SharingRecord.instance_id.in_(ids))
    return threaded(list(session.scalars(query.order_by(SharingRecord.id).limit(SHOWN))))


def threaded(rows: list[SharingRecord]) -> list[SharingRecord]:
    """``rows`` (oldest first) with each linked entry right under the entry it follows, so a
    reader sees a decision and what was added to it (the family told, or not and why) together,
    even when other entries of the case were recorded in between."""
    shown = {row.id for row in rows}
    linked: dict[int, list[SharingRecord]] = {}
    for row in rows:
        if row.follows in shown:
            linked.setdefault(row.follows, []).append(row)
    result: list[SharingRecord] = []
    for row in rows:
        if row.follows in shown:
            continue
        stack = [row]
        while stack:
            entry = stack.pop()
            result.append(entry)
            stack.extend(reversed(linked.get(entry.id, [])))
    return result


class CaseSearch(Model):
    """My cases' search words, order and page; a value it does not know means the default."""

    q: Annotated[str, Field(max_length=caselist.SEARCH_LENGTH)] | None = Field(
        None, description="part of a business key or name, a date of birth, an identifier"
    )
    sort: Literal["due", "child", "activity"] | None = None
    page: Annotated[int, Field(ge=1, le=caselist.LAST_PAGE)] | None = None


def case_query(args: Mapping[str, str]) -> caselist.CaseQuery:
    """The query string as a :class:`caselist.CaseQuery`: like My work's filters, a value the
    page does not offer falls back to the default rather than failing a bookmarked link."""
    sort = args.get("sort", "")
    page = args.get("page", "")
    number = int(page) if is_whole_number(page) else 1
    return caselist.CaseQuery(
        q=args.get("q", "").strip()[: caselist.SEARCH_LENGTH],
        sort=sort if sort in caselist.SORTS else "due",
        page=min(max(number, 1), caselist.LAST_PAGE),
    )


@bp.get("/cases")
@access()
@spec(
    "My cases: the cases I may see, where each stands, searchable, sorted and paged (a page)",
    query=CaseSearch,
    responses={200: HTML, 302: None},
    tag="pages",
)
def my_cases():
    user = current_user()
    query = case_query(request.args)
    rows, more = caselist.cases_page(uow().session, viewer(user), query)
    now = services().clock.now()
    shown = []
    for row in rows:
        due = row.headline.task.due_at if row.headline else None
        css, words = lateness(due, now)
        shown.append({"case": row, "due": due, "status_class": css, "lateness": words})
    # Which cases were listed is each case's own trail when opened; the list keeps no search
    # words, which may be a child's name and would outlive the case's retention.
    trail.note(detail={"cases_shown": len(rows), "searched": bool(query.q), "page": query.page})
    return render_template(
        "cases.html", rows=shown, query=query, more=more, sorts=SORT_WORDS, when=short_time
    )


SORT_WORDS = (("due", "Next due"), ("child", "Child"), ("activity", "Last activity"))


@bp.get("/cases/<business_key>")
@access(case_scoped=True)
@spec(
    "A child's case: its instances with their diagrams, the timeline and the register (a page)",
    responses={200: HTML, 302: None},
    tag="pages",
)
def case(business_key: str):
    session = uow().session
    user = current_user()
    instances = instances_of_case(session, business_key, viewer(user))
    names = labels(session, instances)
    waiting = _open_tasks(session, instances)
    now = services().clock.now()
    shown = []
    timeline = []
    for row in instances:
        name, version = names[row.id]
        steps = [(task, *lateness(task.due_at, now)) for task in waiting.get(row.id, [])]
        shown.append({"row": row, "name": name, "version": version, "open": steps})
        for event in history.events_of(session, row):
            timeline.append({**event, "process": name, "instance_id": row.id})
    timeline.sort(key=lambda e: e["at"])
    record = children.find(session, business_key) if instances else None
    if record is not None:
        trail.note(detail={"child_record": True})  # this read is the case's audit event
    return render_template(
        "case.html",
        user=user,
        key=business_key,
        record=record,
        instances=shown,
        timeline=timeline,
        register=register_of(session, user, instances),
    )
