"""Process instances: start, list, read, message, cancel (api.md, "Process instances")."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import and_, or_, select

from records.retention import PURGED_STATE
from service.access import access, viewer
from service.api import shapes
from service.api.requests import (
    body_of,
    decode_cursor,
    encode_cursor,
    if_match,
    limit_arg,
)
from service.api.schemas import (
    STATES,
    CancelIn,
    Diagram,
    History,
    IfMatch,
    InstanceFull,
    InstancePage,
    InstanceQuery,
    MessageIn,
    Migrated,
    MigrateIn,
    StartHeaders,
    StartInstance,
)
from service.auth import current_user
from service.casework import cancel as cancelling
from service.casework import message
from service.casework import migrate as migrating
from service.casework.after import latest_advance
from service.casework.desk import for_request
from service.casework.start import start_process
from service.context import services, uow
from service.errors import ApiError
from service.openapi import spec
from storage.models import ProcessDefinition, ProcessInstance, Task
from tasks import history, parties, visibility
from workflows.events import Advance, OpenedTask
from workflows.facts import highlights
from workflows.roles import CANCEL_ROLES, CASEWORK, PROCESS_OWNERS

bp = Blueprint("instances", __name__)


def _variables(workflow) -> dict:
    data = workflow.last_task.data if workflow.last_task is not None else workflow.data
    return shapes.jsonable(data)


def _open_tasks(instance_id: str) -> list[Task]:
    return list(
        uow().session.scalars(
            select(Task)
            .where(Task.instance_id == instance_id, Task.status == "open")
            .order_by(Task.created_at)
        )
    )


def _definition_version(definition_id: str) -> int | None:
    return services().engine.specs.version(uow().session, definition_id)


def _not_purged(instance_id: str) -> None:
    """A closed case purged by retention keeps its rows, not its engine state: 410."""
    purged = select(ProcessInstance.state == PURGED_STATE).where(ProcessInstance.id == instance_id)
    if uow().session.scalar(purged):
        raise ApiError(410, "gone", "This case's data was purged under the retention policy.")


def full_instance(instance_id: str) -> dict:
    """The instance as its parties see it: its variables less the details only a step's
    parties see (``visibility=step``, tasks/visibility.py)."""
    _not_purged(instance_id)
    row, workflow = services().engine.load(uow(), instance_id)
    body = shapes.instance(row, _definition_version(row.definition_id))
    hidden = visibility.step_only_names(workflow.spec)
    body["variables"] = visibility.without(_variables(workflow), hidden)
    body["active_tasks"] = [shapes.task(t) for t in _open_tasks(row.id)]
    return body


def task_only_instance(advance: Advance) -> dict:
    """What completing a task that withholds the child's identity answers: that the step was
    taken and how the instance stands, without the business key, its starter or its data."""
    facts = (latest_advance(uow(), advance.instance.id) or advance).instance
    body = shapes.instance(facts, _definition_version(facts.definition_id))
    body.update(business_key=None, started_by=None, error=None, variables={}, active_tasks=[])
    return body


def _active_tasks(advance: Advance) -> list[Task | OpenedTask]:
    """The instance's open tasks after ``advance``, oldest first, as a read of them would give.

    The tasks that opened are known as they were inserted (and settled). A task open before
    the step and still open is known only by id: a claim, a reassignment or more time may have
    changed its row since the workflow was cached, so then the open tasks are read once, in
    the command's transaction (the same read as a ``GET``). Tasks that opened together share
    their ``created_at``; they keep the order the workflow opened them in.
    """
    if advance.still_open:
        return _open_tasks(advance.instance.id)
    return list(advance.opened)


def answer(instance_id: str) -> dict:
    """What a command that advanced ``instance_id`` answers: the instance as its parties see
    it, built inside the command's transaction from its latest advance, equal to what
    :func:`full_instance` reads once it is committed.

    No purge check: only a running instance can be advanced, and retention purges closed ones.
    Without an advance in this unit (a start replayed for its request key), it is read.
    """
    advance = latest_advance(uow(), instance_id)
    if advance is None:
        return full_instance(instance_id)
    facts = advance.instance
    body = shapes.instance(facts, _definition_version(facts.definition_id))
    spec, _ = services().engine.specs.get(uow().session, facts.definition_id)
    hidden = visibility.step_only_names(spec)
    body["variables"] = visibility.without(shapes.jsonable(dict(advance.variables)), hidden)
    body["active_tasks"] = [shapes.task(t) for t in _active_tasks(advance)]
    return body


@bp.post("")
@access(*CASEWORK)
@spec(
    "Start a process instance",
    body=StartInstance,
    headers=StartHeaders,
    responses={201: InstanceFull},
    errors=(404, 409),
)
def start():
    body = body_of(StartInstance)
    unit = uow()
    instance_id, replayed = start_process(
        for_request(),
        unit,
        viewer(current_user()),
        body["process_key"],
        body.get("business_key"),
        body.get("variables"),
        body.get("version"),
        request.headers.get("Idempotency-Key"),
        body.get("child_record"),
    )
    body = answer(instance_id)  # before the commit: from what the start did, no reads after
    unit.commit()
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return jsonify(body), 201, headers


@bp.get("")
@access()
@spec(
    "Instances the caller may see, newest first", query=InstanceQuery, responses={200: InstancePage}
)
def list_instances():
    query = select(ProcessInstance).where(parties.instance_visible(viewer(current_user())))
    for arg, column in (
        ("process_key", ProcessInstance.process_key),
        ("business_key", ProcessInstance.business_key),
        ("state", ProcessInstance.status),
    ):
        value = request.args.get(arg)
        if value:
            if arg == "state" and value not in STATES:
                raise ApiError(400, "bad_request", f"state must be one of {', '.join(STATES)}.")
            query = query.where(column == value)
    cursor = decode_cursor()
    if cursor:
        if len(cursor) != 2 or not all(isinstance(v, str) for v in cursor):
            raise ApiError(400, "bad_request", "cursor is not valid.")
        started = shapes.parse_iso(cursor[0])
        query = query.where(
            or_(
                ProcessInstance.started_at < started,
                and_(ProcessInstance.started_at == started, ProcessInstance.id < cursor[1]),
            )
        )
    limit = limit_arg()
    rows = list(
        uow().session.scalars(
            query.order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc()).limit(
                limit + 1
            )
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([shapes.iso(rows[-1].started_at), rows[-1].id])
    return jsonify({"items": [shapes.instance(r) for r in rows], "next_cursor": next_cursor})


@bp.get("/<instance_id>")
@access(case_scoped=True)
@spec(
    "One instance with its variables and open tasks",
    responses={200: InstanceFull},
    errors=(410,),
)
def get_instance(instance_id: str):
    return jsonify(full_instance(instance_id))


@bp.get("/<instance_id>/diagram")
@access(case_scoped=True)
@spec(
    "The diagram with active, overdue and completed elements",
    responses={200: Diagram},
    errors=(410,),
)
def get_diagram(instance_id: str):
    _not_purged(instance_id)
    row, workflow = services().engine.load(uow(), instance_id)
    definition = uow().session.get(ProcessDefinition, row.definition_id)
    now = services().clock.now()
    overdue = sorted(
        {t.element_id for t in _open_tasks(row.id) if t.due_at is not None and t.due_at < now}
    )
    marks = highlights(workflow)
    return jsonify({"xml": definition.xml, "overdue": overdue, **marks})


@bp.get("/<instance_id>/history")
@access(case_scoped=True)
@spec("The instance's events, oldest first", responses={200: History})
def get_history(instance_id: str):
    row = uow().session.get(ProcessInstance, instance_id)
    if row is None:
        raise ApiError(404, "not_found", f"process instance {instance_id} does not exist")
    events = [
        {**event, "at": shapes.iso(event["at"])} for event in history.events_of(uow().session, row)
    ]
    return jsonify({"items": events, "next_cursor": None})


@bp.post("/<instance_id>/messages")
@access(case_scoped=True)
@spec(
    "Deliver a BPMN message",
    body=MessageIn,
    headers=IfMatch,
    responses={200: InstanceFull},
    errors=(409,),
)
def deliver_message(instance_id: str):
    """Only messages the diagram marks external (service/casework/message.py)."""
    body = body_of(MessageIn)
    unit = uow()
    message.deliver_message(
        for_request(),
        unit,
        viewer(current_user()),
        instance_id,
        body["name"],
        body.get("payload"),
        if_match(),
    )
    answered = answer(instance_id)
    unit.commit()
    return jsonify(answered)


@bp.post("/<instance_id>/cancel")
@access(*CANCEL_ROLES, case_scoped=True)
@spec(
    "Cancel an instance",
    body=CancelIn,
    headers=IfMatch,
    responses={200: InstanceFull},
    errors=(409,),
)
def cancel(instance_id: str):
    body = body_of(CancelIn)
    unit = uow()
    cancelling.cancel(
        for_request(), unit, viewer(current_user()), instance_id, body["reason"], if_match()
    )
    answered = answer(instance_id)
    unit.commit()
    return jsonify(answered)


@bp.post("/<instance_id>/migrate")
@access(*PROCESS_OWNERS)
@spec(
    "Move an instance to another version of its definition",
    body=MigrateIn,
    headers=IfMatch,
    responses={200: Migrated},
    errors=(409,),
)
def migrate(instance_id: str):
    """Process owners move instances they are not party to: the answer holds no case data."""
    body = body_of(MigrateIn)
    unit = uow()
    advance = migrating.migrate(
        for_request(), unit, viewer(current_user()), instance_id, body["to_version"], if_match()
    )
    row = advance.instance
    answered = {
        "id": row.id,
        "process_key": row.process_key,
        "definition_version": _definition_version(row.definition_id),
        "state": row.status,
        "version": row.version,
    }
    unit.commit()
    return jsonify(answered)
