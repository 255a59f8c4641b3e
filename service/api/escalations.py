"""A manager's inbox (api.md, "Escalations and notifications") and giving a task more time.

``GET /api/escalations`` lists what is addressed to the caller (``tasks/inbox.py``); items carry
the step's name and who holds it, never case data, and link to the task. Resolving one needs a
written resolution; extending a task's due time needs a reason (both kept on the escalation).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from service.access import access, viewer
from service.api import shapes
from service.api.requests import decode_cursor, encode_cursor, json_body, limit_arg
from service.api.schemas import TaskOut
from service.api.schemas_work import (
    EscalationOut,
    EscalationPage,
    ExtendIn,
    PageQuery,
    ResolveIn,
)
from service.auth import current_user
from service.casework import resolve as resolving
from service.casework.desk import for_request
from service.casework.give_more_time import give_more_time
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import Escalation, Task
from tasks import inbox
from workflows.roles import EXTEND_ROLES, INBOX_ROLES

bp = Blueprint("escalations", __name__)


def escalation_json(row: Escalation, task: Task | None) -> dict:
    links = {}
    if row.task_id:
        links = {"task": f"/tasks/{row.task_id}", "api": f"/api/tasks/{row.task_id}"}
    return {
        "id": row.id,
        "kind": row.kind,
        "since": shapes.iso(row.since),
        "due_at": shapes.iso(row.due_at),
        "task_id": row.task_id,
        "instance_id": row.instance_id,
        "task_name": task.name if task is not None else None,
        "assignee": task.assignee if task is not None else None,
        "addressed_to": {
            "manager": row.manager_username,
            "role": row.role,
            "agency": row.agency,
        },
        "status": row.status,
        "resolved_at": shapes.iso(row.resolved_at),
        "resolved_by": row.resolved_by,
        "resolution": row.resolution,
        "details": _details(row),
        "links": links,
    }


def _details(row: Escalation) -> dict | None:
    """What the item itself says (the board's copy of a stage-3 notice: the stage, the two
    agencies and the notice), for a reader who may not open the case."""
    found = row.details if isinstance(row.details, dict) else None
    if not found:
        return None
    return {
        "stage": found.get("stage"),
        "agencies": list(found.get("agencies") or ()),
        "notice": found.get("notice"),
        "resolved": found.get("resolved"),
    }


@bp.get("/escalations")
@access(*INBOX_ROLES)
@spec(
    "My inbox: overdue work of my team, disagreements, advice requests",
    query=PageQuery,
    responses={200: EscalationPage},
)
def list_escalations():
    """Open items addressed to the caller, oldest first."""
    after = None
    cursor = decode_cursor()
    if cursor:
        if len(cursor) != 2 or not all(isinstance(v, str) for v in cursor):
            raise ApiError(400, "bad_request", "cursor is not valid.")
        after = (shapes.parse_iso(cursor[0]), cursor[1])
    limit = limit_arg()
    rows = inbox.open_escalations(uow().session, current_user(), after=after, limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1][0]
        next_cursor = encode_cursor([shapes.iso(last.since), last.id])
    return jsonify({"items": [escalation_json(e, t) for e, t in rows], "next_cursor": next_cursor})


@bp.post("/escalations/<escalation_id>/resolve")
@access(*INBOX_ROLES)
@spec("Resolve an inbox item", body=ResolveIn, responses={200: EscalationOut}, errors=(409,))
def resolve(escalation_id: str):
    body = json_body(
        {"resolution": str}, ("resolution",), limits={"resolution": inbox.MAX_RESOLUTION}
    )
    unit = uow()
    row = resolving.resolve(
        for_request(), unit, viewer(current_user()), escalation_id, body["resolution"]
    )
    unit.commit()
    task = unit.session.get(Task, row.task_id) if row.task_id else None
    return jsonify(escalation_json(row, task))


@bp.post("/tasks/<task_id>/extend")
@access(*EXTEND_ROLES, case_scoped=True)
@spec(
    "Move a task's due time, with a reason",
    body=ExtendIn,
    responses={200: TaskOut},
    errors=(409,),
)
def extend(task_id: str):
    """New due time (ISO 8601 with offset, in the future) and a reason → the task, rescheduled."""
    body = json_body(
        {"due_at": str, "reason": str},
        ("due_at", "reason"),
        limits={"reason": inbox.MAX_RESOLUTION, "due_at": 64},
    )
    if not body["reason"].strip():
        raise ApiError(
            422,
            "invalid_input",
            "Some fields are not valid.",
            [{"field": "reason", "message": "is required"}],
        )
    try:
        new_due = shapes.parse_iso(body["due_at"])
    except ApiError:
        new_due = None
    now = services().clock.now()
    if new_due is None or new_due <= now:
        message = "must be a future ISO 8601 time with a UTC offset"
        raise ApiError(
            422,
            "invalid_input",
            "Some fields are not valid.",
            [{"field": "due_at", "message": message}],
        )
    unit = uow()
    who = viewer(current_user())
    give_more_time(for_request(), unit, who, task_id, new_due, body["reason"].strip())
    unit.commit()
    return jsonify(shapes.task(unit.session.get(Task, task_id)))
