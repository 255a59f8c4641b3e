"""The engine's per-step writes on both databases: prepared statements and the candidate trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from storage.models import ProcessDefinition, ProcessInstance, Task, TaskCandidate, new_id
from storage.prepared import run_guarded
from workflows import cached_step

NOW = datetime(2026, 11, 30, 16, 45, 12, 345678, tzinfo=UTC)


def _instance(connection) -> str:
    definition = {"id": new_id(), "key": "three_steps", "version": 1, "name": None}
    definition |= {"filename": None, "xml": "<x/>", "content_hash": "0" * 64}
    definition |= {"deployed_by": None, "deployed_at": NOW}
    connection.execute(insert(ProcessDefinition.__table__).values(definition))
    instance_id = new_id()
    row = {
        "id": instance_id,
        "definition_id": definition["id"],
        "process_key": "three_steps",
        "business_key": "C-1",
        "status": "running",
        "state": "{}",
        "version": 1,
        "error": None,
        "started_by": "amy",
        "started_at": NOW,
        "updated_at": NOW,
        "ended_at": None,
        "cancel_reason": None,
    }
    connection.execute(insert(ProcessInstance.__table__).values(row))
    return instance_id


def _task(instance_id: str, roles: list[str] | None, **extra) -> dict:
    return {
        "id": new_id(),
        "instance_id": instance_id,
        "element_id": "review",
        "name": "Review",
        "lane": "manager",
        "candidate_roles": roles,
        "status": "open",
        "assignee": None,
        "due_at": NOW + timedelta(days=2),
        "created_at": NOW,
        "version": 1,
    } | extra


@pytest.fixture
def connection(db_engine):
    with db_engine.connect() as connection:
        yield connection
        connection.rollback()


def _candidates(connection, task_id: str) -> list[str]:
    query = select(TaskCandidate.role).where(TaskCandidate.task_id == task_id)
    return sorted(connection.scalars(query))


def test_the_roles_that_may_claim_a_task_come_from_its_row(connection):
    instance_id = _instance(connection)
    twice, none, empty = (
        _task(instance_id, ["dsl", "manager", "dsl"]),
        _task(instance_id, None),
        _task(instance_id, []),
    )
    cached_step.INSERT_TASKS.run(connection, [twice, none, empty])
    assert _candidates(connection, twice["id"]) == ["dsl", "manager"]
    assert _candidates(connection, none["id"]) == []
    assert _candidates(connection, empty["id"]) == []
    # a task added any other way gets them too
    other = _task(instance_id, ["practitioner"])
    connection.execute(insert(Task.__table__).values(other))
    assert _candidates(connection, other["id"]) == ["practitioner"]


def test_prepared_writes_store_exactly_what_sqlalchemy_stores(connection):
    """Same bytes in the database, not only equal values read back: queries compare the stored
    text (on SQLite a time with or without microseconds sorts differently)."""
    instance_id = _instance(connection)
    through_sqlalchemy, prepared = _task(instance_id, ["x"]), _task(instance_id, ["x"])
    whole = NOW.replace(microsecond=0)  # written with or without ".000000"?
    extra = {"data": {"a": None, "b": [1, "é"]}, "completed_at": whole, "created_at": whole}
    connection.execute(insert(Task.__table__).values(through_sqlalchemy | extra))
    cached_step.INSERT_TASKS.run(connection, [prepared | extra])
    columns = "due_at, created_at, completed_at, candidate_roles, data, assignee"
    query = text(f"SELECT {columns} FROM task WHERE id = :id")  # untyped: values as stored
    raw = [
        connection.execute(query, {"id": row["id"]}).one() for row in (through_sqlalchemy, prepared)
    ]
    assert raw[0] == raw[1]


def test_prepared_writes_read_back_as_sqlalchemy_would_have_written_them(connection):
    instance_id = _instance(connection)
    row = _task(instance_id, ["manager"])
    assert cached_step.INSERT_TASKS.run(connection, [row]) == 1
    params = {"task_id": row["id"], "now": NOW, "user": "bo", "data": {"approved": True, "n": [1]}}
    assert cached_step.COMPLETE_TASK.run(connection, params) == 1
    assert cached_step.COMPLETE_TASK.run(connection, params) == 0  # no longer open: nothing changed
    stored = connection.execute(select(Task.__table__).where(Task.id == row["id"])).mappings().one()
    assert stored["status"] == "completed"
    assert stored["completed_at"] == NOW
    assert stored["due_at"] == NOW + timedelta(days=2)
    assert stored["data"] == {"approved": True, "n": [1]}
    assert stored["version"] == 2

    save = {
        "instance_id": instance_id,
        "read_version": 1,
        "state": '{"x": 1}',
        "new_status": "completed",
        "error": None,
        "now": NOW,
        "ended_at": NOW,
    }
    assert cached_step.SAVE_INSTANCE.run(connection, save) == 1
    assert cached_step.SAVE_INSTANCE.run(connection, save) == 0  # a stale version changes nothing
    instance = connection.execute(
        select(ProcessInstance.__table__).where(ProcessInstance.id == instance_id)
    ).mappings()
    saved = instance.one()
    assert (saved["state"], saved["status"], saved["version"]) == ('{"x": 1}', "completed", 2)
    assert saved["ended_at"] == NOW and saved["error"] is None


def test_prepared_write_errors_are_sqlalchemy_errors(connection):
    instance_id = _instance(connection)
    row = _task(instance_id, ["manager"])
    cached_step.INSERT_TASKS.run(connection, [row])
    with pytest.raises(IntegrityError):
        cached_step.INSERT_TASKS.run(connection, [row])


def test_a_step_on_a_stale_copy_writes_nothing_and_a_fresh_one_writes_everything(connection):
    instance_id = _instance(connection)
    waiting = _task(instance_id, ["manager"])
    cached_step.INSERT_TASKS.run(connection, [waiting])
    opened = _task(instance_id, ["dsl"])
    done = {"task_id": waiting["id"], "now": NOW, "user": "bo", "data": {}}

    def step(read_version: int) -> list:
        save = {"instance_id": instance_id, "read_version": read_version, "state": "{}"}
        save |= {"new_status": "running", "error": None, "now": NOW, "ended_at": None}
        return [
            (cached_step.SAVE_INSTANCE, save),
            (cached_step.COMPLETE_TASK, done),
            (cached_step.INSERT_TASKS, [opened]),
        ]

    assert run_guarded(connection, step(read_version=7)) is None
    statuses = dict(connection.execute(select(Task.id, Task.status)).all())
    assert statuses == {waiting["id"]: "open"}  # neither completed nor the next one opened

    assert run_guarded(connection, step(read_version=1)) == [1, 1, 1]
    statuses = dict(connection.execute(select(Task.id, Task.status)).all())
    assert statuses == {waiting["id"]: "completed", opened["id"]: "open"}
    assert _candidates(connection, opened["id"]) == ["dsl"]
    connection.commit()
    version = select(ProcessInstance.version).where(ProcessInstance.id == instance_id)
    assert connection.scalar(version) == 2
