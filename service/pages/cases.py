"""The case view: every instance of one child, their diagrams, a timeline and the register.

Need-to-know is the route's rule (``@access(case_scoped=True)`` on ``business_key``): a case the
person may not see is a 404 exactly like one that does not exist, and the audit trail records
the read (or the refusal) with the case key. The diagrams are drawn in the browser by
``static/diagram.js`` from ``GET /api/process-instances/{id}/diagram``, which applies the same rule.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import or_, select

from service.access import access, viewer
from service.api.sharing import READERS
from service.auth import current_user
from service.context import services, uow
from service.openapi import HTML, spec
from service.pages.work import lateness
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
    return render_template(
        "case.html",
        user=user,
        key=business_key,
        instances=shown,
        timeline=timeline,
        register=register_of(session, user, instances),
    )
