"""Tasks: the worklist, one task with its form, claim/unclaim/assign/complete (api.md, "Tasks")."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from service.access import access, viewer
from service.api import shapes
from service.api.instances import answer, task_only_instance
from service.api.requests import if_match, is_whole_number, json_body, limit_arg
from service.api.schemas import IfMatch, InstanceFull
from service.api.schemas_work import (
    AssignIn,
    CompleteIn,
    TaskDetail,
    WorklistPage,
    WorklistQuery,
    WorklistTask,
)
from service.auth import current_user
from service.casework import assign as assigning
from service.casework import claim as claiming
from service.casework import complete as completing
from service.casework import unclaim as unclaiming
from service.casework.desk import for_request
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import Task
from tasks import forms, visibility
from tasks.worklist import VIEWS, page, worklist_query
from workflows.errors import Conflict
from workflows.roles import MANAGERS

bp = Blueprint("tasks", __name__)


def _flag(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if raw not in ("true", "false"):
        raise ApiError(400, "bad_request", f"{name} must be true or false.")
    return raw == "true"


def _offset() -> int:
    raw = request.args.get("cursor") or "0"
    if not is_whole_number(raw) or int(raw) > 10_000_000:
        raise ApiError(400, "bad_request", "cursor is not valid.")
    return int(raw)


@bp.get("")
@access()
@spec(
    "The worklist: open tasks by view, soonest due first",
    query=WorklistQuery,
    responses={200: WorklistPage},
    errors=(403,),
)
def list_tasks():
    view = request.args.get("view", "mine")
    if view not in VIEWS:
        raise ApiError(400, "bad_request", f"view must be one of {', '.join(VIEWS)}.")
    if request.args.get("sort", "due_at") != "due_at":
        raise ApiError(400, "bad_request", "sort must be due_at.")
    user = current_user()
    if view == "team" and not (user.roles & {*MANAGERS, "admin"}):
        raise ApiError(403, "forbidden", "The team view is for managers.")
    now = services().clock.now()
    query = worklist_query(
        viewer(user),
        view,
        now,
        overdue=_flag("overdue"),
        process_key=request.args.get("process_key") or None,
    )
    offset, limit = _offset(), limit_arg()
    rows, more = page(uow().session, query, offset, limit)
    items = [shapes.worklist_task(task, key, now) for task, key, _child in rows]
    return jsonify({"items": items, "next_cursor": str(offset + limit) if more else None})


@bp.get("/<task_id>")
@access(case_scoped=True)
@spec("A task with its form and the data it needs", responses={200: TaskDetail}, errors=(409,))
def get_task(task_id: str):
    """The task with its form and the data it needs. A task that withholds the child's
    identity shows only its ``shows`` variables and no key; any other leaves out the details
    only other steps' parties may see (tasks/visibility.py)."""
    unit = uow()
    engine = services().engine
    task = unit.session.get(Task, task_id)
    row, workflow = engine.load(unit, task.instance_id)
    form = data = None
    if task.status == "open":
        try:
            _, spec, data = engine.open_task(unit, task_id)
            form = forms.form_json(forms.form_of(spec))
            if task.identity_withheld:
                data = visibility.withheld_data(workflow.spec, spec, data)
            else:
                data = visibility.without(data, visibility.hidden_at(workflow.spec, spec))
        except Conflict:
            # Completed between reading its row and its instance (PostgreSQL reads each
            # statement at its own moment): show it as it is now.
            unit.session.refresh(task)
    body = shapes.worklist_task(task, None, services().clock.now())
    body["process_key"] = row.process_key
    body["business_key"] = None if task.identity_withheld else row.business_key
    body["status"] = task.status
    body["form"] = form or []
    # A closed task shows its own answers (task.data), the fields of its own form.
    body["data"] = shapes.jsonable(data) if form is not None else (task.data or {})
    return jsonify(body)


def _task_answer(task) -> dict:
    return shapes.worklist_task(task, None, services().clock.now())


@bp.post("/<task_id>/claim")
@access(case_scoped=True)
@spec("Claim a task", headers=IfMatch, responses={200: WorklistTask}, errors=(409,))
def claim(task_id: str):
    unit = uow()
    task = claiming.claim(for_request(), unit, viewer(current_user()), task_id, if_match())
    unit.commit()
    return jsonify(_task_answer(task))


@bp.post("/<task_id>/unclaim")
@access(case_scoped=True)
@spec("Give a claimed task back", headers=IfMatch, responses={200: WorklistTask}, errors=(409,))
def unclaim(task_id: str):
    unit = uow()
    task = unclaiming.unclaim(for_request(), unit, viewer(current_user()), task_id, if_match())
    unit.commit()
    return jsonify(_task_answer(task))


@bp.post("/<task_id>/assign")
@access(*MANAGERS, case_scoped=True)
@spec(
    "Give a task to someone (managers)",
    body=AssignIn,
    headers=IfMatch,
    responses={200: WorklistTask},
    errors=(409,),
)
def assign(task_id: str):
    body = json_body({"user": str}, ("user",), limits={"user": 80})
    unit = uow()
    who = viewer(current_user())
    task = assigning.assign(for_request(), unit, who, task_id, body["user"], if_match())
    unit.commit()
    return jsonify(_task_answer(task))


@bp.post("/<task_id>/complete")
@access(case_scoped=True)
@spec(
    "Complete a task with the answers to its form",
    body=CompleteIn,
    headers=IfMatch,
    responses={200: InstanceFull},
    errors=(409,),
)
def complete(task_id: str):
    body = json_body({"data": dict})
    unit = uow()
    done = completing.complete(
        for_request(), unit, viewer(current_user()), task_id, body.get("data") or {}, if_match()
    )
    instance_id = done.advance.instance.id
    # Built before the commit from what the step did: no reads after it.
    body = task_only_instance(done.advance) if done.identity_withheld else answer(instance_id)
    unit.commit()
    return jsonify(body)
