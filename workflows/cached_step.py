"""The statements of the hot path, built once, and the cache-hit completion of a task.

Building a SQLAlchemy statement and its cache key costs about as much as running it on SQLite, so
the statements the engine runs for every step are module constants with bind parameters.

Completing a task of a cached instance runs three statements and no ``SELECT``: save the new state
``WHERE version = <cached version>``, mark the task completed, insert the tasks that opened. If
the save matches no row, someone else changed the instance since it was cached; nothing has been
written yet, so the caller simply takes the ordinary path that reads the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from SpiffWorkflow.task import TaskState
from sqlalchemy import JSON, String, Text, bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.util import identity_key

from storage.database import is_write_conflict
from storage.models import ProcessDefinition, ProcessInstance, Task
from storage.prepared import Prepared, run_guarded
from storage.types import UTCDateTime
from storage.uow import UnitOfWork
from workflows.cache import CachedInstance
from workflows.errors import Conflict, NotFound
from workflows.events import Advance
from workflows.finishing import Before, Finished, finish_step
from workflows.steps import run_engine

_PD, _PI, _T = ProcessDefinition.__table__, ProcessInstance.__table__, Task.__table__

LATEST_DEFINITION = (
    select(_PD.c.id, _PD.c.key, _PD.c.version)
    .where(_PD.c.key == bindparam("key"))
    .order_by(_PD.c.version.desc())
    .limit(1)
)
NAMED_DEFINITION = select(_PD.c.id, _PD.c.key, _PD.c.version).where(
    _PD.c.key == bindparam("key"), _PD.c.version == bindparam("version")
)
# The writes of every step run as prepared statements (storage/prepared.py).
INSERT_INSTANCE = Prepared(insert(_PI))
INSERT_TASKS = Prepared(insert(_T))
SAVE_INSTANCE = Prepared(
    update(_PI)
    .where(
        _PI.c.id == bindparam("instance_id"),
        _PI.c.version == bindparam("read_version"),
        _PI.c.status == "running",
    )
    .values(
        state=bindparam("state", type_=Text()),
        status=bindparam("new_status", type_=String()),
        error=bindparam("error", type_=JSON()),
        version=_PI.c.version + 1,
        updated_at=bindparam("now", type_=UTCDateTime()),
        ended_at=bindparam("ended_at", type_=UTCDateTime()),
    )
)
_COMPLETE_TASK = (
    update(_T)
    .where(_T.c.id == bindparam("task_id"), _T.c.status == "open")
    .values(
        status="completed",
        completed_at=bindparam("now", type_=UTCDateTime()),
        completed_by=bindparam("user", type_=String()),
        data=bindparam("data", type_=JSON()),
        version=_T.c.version + 1,
    )
)
# The same on the version of the row the caller checked (assignee, roles): a claim or
# reassignment committed in between makes it match nothing, so the completion is a conflict.
COMPLETE_TASK = Prepared(_COMPLETE_TASK)
COMPLETE_TASK_AT = Prepared(_COMPLETE_TASK.where(_T.c.version == bindparam("task_version")))
CANCEL_TASKS = (
    update(_T)
    .where(_T.c.id.in_(bindparam("task_ids", expanding=True)), _T.c.status == "open")
    .values(status="cancelled", version=_T.c.version + 1)
)


def find_definition(connection: Connection, key: str, version: int | None) -> tuple[str, int]:
    """The id and version number of version ``version`` of process ``key`` (its latest when
    ``None``); :class:`NotFound` when it is not deployed."""
    if version is None:
        found = connection.execute(LATEST_DEFINITION, {"key": key}).first()
    else:
        found = connection.execute(NAMED_DEFINITION, {"key": key, "version": version}).first()
    if found is None:
        which = f"version {version} of " if version is not None else ""
        raise NotFound(f"{which}process {key!r} is not deployed")
    return found[0], found[2]


def insert_tasks(connection, rows: list[dict]) -> None:
    """Insert opened task rows; a trigger (migration 0010) adds the roles that may claim them."""
    if rows:
        INSERT_TASKS.run(connection, rows)


def _save_params(cached: CachedInstance, done: Finished) -> dict:
    facts = done.facts
    return {
        "instance_id": facts.id,
        "read_version": cached.version,
        "state": done.state,
        "new_status": facts.status,
        "error": facts.error,
        "now": done.now,
        "ended_at": facts.ended_at,
    }


def _forget(uow: UnitOfWork, rows: list[tuple[type, str]]) -> None:
    """Expire the session's copies of rows these writes changed behind the ORM's back (the
    request's need-to-know check loaded them), so a later read in the request sees the step."""
    held = uow.session.identity_map
    for model, row_id in rows:
        found = held.get(identity_key(model, row_id))
        if found is not None:
            uow.session.expire(found)


def complete_cached(
    engine,
    uow: UnitOfWork,
    cached: CachedInstance,
    task_id: str,
    data: Mapping[str, Any],
    user: str | None,
    task_version: int | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Advance | None:
    """Complete ``task_id`` on a cached workflow; ``None`` when the cache was stale."""
    workflow = cached.workflow
    spiff_task = workflow.get_task_from_id(UUID(task_id))
    if spiff_task is None or spiff_task.state != TaskState.READY:
        return None

    def step() -> None:
        spiff_task.set_data(**{**data, **(variables or {})})  # the caller's values win
        spiff_task.run()
        run_engine(workflow)

    before = Before.of(workflow, cached.open_task_ids)
    facts = replace(cached.facts, version=cached.version + 1)
    done = finish_step(engine, workflow, step, before, facts, completed={task_id})
    instance_id, now = facts.id, done.now
    params = {"task_id": task_id, "now": now, "user": user, "data": dict(data)}
    if task_version is None:
        complete = (COMPLETE_TASK, params)
    else:
        complete = (COMPLETE_TASK_AT, {**params, "task_version": task_version})
    save = (SAVE_INSTANCE, _save_params(cached, done))
    writes = [save, complete, *([(INSERT_TASKS, done.rows)] if done.rows else [])]
    connection = uow.session.connection()
    try:
        counts = run_guarded(connection, writes)
    except OperationalError as err:
        if not is_write_conflict(err):
            raise
        raise Conflict("the instance was changed by someone else; reload and try again") from None
    if counts is None:
        return None  # changed elsewhere since it was cached; nothing written
    if counts[1] != 1:
        raise Conflict("the task was completed or changed by someone else; reload it")
    if done.cancelled:
        connection.execute(CANCEL_TASKS, {"task_ids": list(done.cancelled)})
    closed = done.advance.closed
    _forget(uow, [(ProcessInstance, instance_id), *((Task, t) for t in closed)])
    done.cache_on_commit(uow, engine.instances)
    return done.advance
