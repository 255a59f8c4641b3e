"""Running instances: start, continue, persist, restart, messages, cancel, errors, conflicts."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from storage import UnitOfWork, make_engine, make_session_factory
from storage.database import read_only
from storage.models import ProcessInstance, Task
from tests.conftest import fixture_bytes
from tests.workflows.helpers import (
    THREE_STEPS_PATH,
    complete,
    deploy,
    open_tasks,
    start,
    the_open_task,
    without_describe,
)
from workflows.errors import Conflict, InvalidInput
from workflows.instances import Engine


@pytest.fixture
def engine(uow_factory) -> Engine:
    engine = Engine()
    deploy(engine, uow_factory)
    return engine


def test_start_waits_at_the_first_user_task_with_a_queryable_row(engine, uow_factory):
    advance = start(engine, uow_factory, business_key="child-7", variables={"source": "school"})
    instance = advance.instance
    assert instance.status == "running" and instance.version == 1
    assert instance.business_key == "child-7"
    task = the_open_task(uow_factory, instance.id)
    assert (task.element_id, task.name, task.lane) == (
        "describe",
        "Describe the concern",
        "practitioner",
    )
    assert task.created_at.tzinfo is not None
    assert [t.id for t in advance.opened] == [task.id]


def test_walking_the_path_completes_the_instance_and_keeps_each_answer(engine, uow_factory):
    instance_id = start(engine, uow_factory, business_key="child-1").instance.id
    for element_id, data in THREE_STEPS_PATH:
        task = the_open_task(uow_factory, instance_id)
        assert task.element_id == element_id
        complete(engine, uow_factory, task.id, data, user="pat")
    assert open_tasks(uow_factory, instance_id) == []
    with uow_factory() as uow:
        row = uow.session.get(ProcessInstance, instance_id)
        assert row.status == "completed" and row.ended_at is not None
        assert row.version == 4
        done = uow.session.scalars(select(Task).where(Task.instance_id == instance_id)).all()
        assert {t.element_id: t.data for t in done} == dict(THREE_STEPS_PATH)
        assert {t.completed_by for t in done} == {"pat"}


def test_instance_survives_a_restart(db_url, uow_factory):
    deploy(Engine(), uow_factory)
    instance_id = start(Engine(), uow_factory, business_key="child-1").instance.id
    task = the_open_task(uow_factory, instance_id)
    complete(Engine(), uow_factory, task.id, THREE_STEPS_PATH[0][1])

    # A new process: new database engine, new engine layer, empty caches.
    db = make_engine(db_url)
    fresh = Engine()
    factory = make_session_factory(db)
    try:
        with UnitOfWork(factory) as uow:
            row, workflow = fresh.load(uow, instance_id)
            assert row.status == "running"
            assert workflow.last_task.data["high_risk"] is True  # the script ran before restart
        task = the_open_task(lambda: UnitOfWork(factory), instance_id)
        assert task.element_id == "review"
        advance = complete(fresh, lambda: UnitOfWork(factory), task.id, {"approved": False})
        assert advance.ended and advance.instance.status == "completed"
    finally:
        db.dispose()


def test_a_second_engine_never_uses_a_stale_cached_copy(engine, uow_factory):
    other = Engine()  # another service process sharing the database
    instance_id = start(engine, uow_factory).instance.id
    complete(other, uow_factory, the_open_task(uow_factory, instance_id).id, THREE_STEPS_PATH[0][1])
    # `engine` still caches the instance as it was at version 1; it must notice version 2.
    advance = complete(
        engine, uow_factory, the_open_task(uow_factory, instance_id).id, {"approved": True}
    )
    assert [t.element_id for t in advance.opened] == ["act"]


def test_two_stale_writers_exactly_one_wins(engine, uow_factory):
    instance_id = start(engine, uow_factory).instance.id
    task_id = the_open_task(uow_factory, instance_id).id
    # A's transaction begins as a reader (on SQLite a writer would hold the lock and B wait).
    with read_only(), uow_factory() as stale:
        # Writer A reads the instance and task ...
        stale.session.get(ProcessInstance, instance_id)
        stale.session.get(Task, task_id)
        # ... writer B (another process) completes the same task and commits first ...
        with read_only(False):
            complete(Engine(), uow_factory, task_id, {"concern": "B's answer", "severity": 1})
        # ... so A's change, made on its stale copy, must fail rather than overwrite B's.
        with pytest.raises(Conflict):
            engine.complete_task(stale, task_id, {"concern": "A's answer", "severity": 9})
    with uow_factory() as uow:
        assert uow.session.get(Task, task_id).data["concern"] == "B's answer"
        assert uow.session.get(ProcessInstance, instance_id).version == 2
    assert the_open_task(uow_factory, instance_id).element_id == "review"


def test_concurrent_completions_one_succeeds_the_rest_conflict(engine, uow_factory):
    instance_id = start(engine, uow_factory).instance.id
    task_id = the_open_task(uow_factory, instance_id).id
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        worker = Engine()
        barrier.wait()
        try:
            complete(worker, uow_factory, task_id, {"concern": f"writer {n}", "severity": n})
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
    assert the_open_task(uow_factory, instance_id).element_id == "review"


def test_completing_a_task_twice_is_a_conflict(engine, uow_factory):
    instance_id = start(engine, uow_factory).instance.id
    task_id = the_open_task(uow_factory, instance_id).id
    complete(engine, uow_factory, task_id, THREE_STEPS_PATH[0][1])
    with pytest.raises(Conflict, match="already completed"):
        complete(engine, uow_factory, task_id, THREE_STEPS_PATH[0][1])


def test_message_is_delivered_and_its_payload_kept(uow_factory):
    engine = Engine()
    deploy(engine, uow_factory, name="wait_for_message.bpmn")
    advance = start(engine, uow_factory, key="wait_for_message", business_key="child-3")
    assert advance.opened == ()
    instance_id = advance.instance.id
    with uow_factory() as uow:
        delivered = engine.deliver_message(uow, instance_id, "docs_received", {"count": 3})
        uow.commit()
    assert [t.element_id for t in delivered.opened] == ["check_docs"]
    assert [t.element_id for t in delivered.timers] == ["remind"]
    with uow_factory() as uow:
        _, workflow = Engine().load(uow, instance_id)
        assert workflow.last_task.data["docs_received"] == {"count": 3}
    with uow_factory() as uow, pytest.raises(Conflict, match="not waiting"):
        engine.deliver_message(uow, instance_id, "docs_received", {})


def test_cancel_closes_open_tasks_and_refuses_further_work(engine, uow_factory):
    instance_id = start(engine, uow_factory).instance.id
    task_id = the_open_task(uow_factory, instance_id).id
    with uow_factory() as uow:
        engine.cancel(uow, instance_id, reason="opened by mistake")
        uow.commit()
    with uow_factory() as uow:
        row = uow.session.get(ProcessInstance, instance_id)
        assert (row.status, row.cancel_reason) == ("cancelled", "opened by mistake")
        assert uow.session.get(Task, task_id).status == "cancelled"
    with pytest.raises(Conflict):
        complete(engine, uow_factory, task_id, THREE_STEPS_PATH[0][1])


def test_a_failing_condition_fails_the_instance_clearly_and_keeps_the_answers(uow_factory):
    engine = Engine()
    content = fixture_bytes("three_steps.bpmn").replace(
        b"approved == True", b"approved == True and not_a_variable"
    )
    deploy(engine, uow_factory, content=content)
    instance_id = start(engine, uow_factory).instance.id
    complete(
        engine, uow_factory, the_open_task(uow_factory, instance_id).id, THREE_STEPS_PATH[0][1]
    )
    review = the_open_task(uow_factory, instance_id)
    advance = complete(engine, uow_factory, review.id, {"approved": True})
    assert advance.instance.status == "error"
    assert advance.error["element_id"] == "approved_gw"
    assert "not_a_variable" in advance.error["message"]
    with uow_factory() as uow:
        row = uow.session.get(ProcessInstance, instance_id)
        assert row.status == "error" and row.error == advance.error
        assert uow.session.get(Task, review.id).data == {"approved": True}


def test_variable_names_that_could_shadow_the_sandbox_are_refused(engine, uow_factory):
    with pytest.raises(InvalidInput) as caught:
        start(engine, uow_factory, variables={"__builtins__": {}})
    assert caught.value.field == "variables.__builtins__"


def test_migrate_moves_a_waiting_instance_to_a_new_version(engine, uow_factory):
    instance_id = start(engine, uow_factory).instance.id
    renamed = fixture_bytes("three_steps.bpmn").replace(
        b'name="Describe the concern"', b'name="Describe what worries you"'
    )
    new = deploy(engine, uow_factory, content=renamed).definition
    with uow_factory() as uow:
        advance = engine.migrate(uow, instance_id, to_version=2)
        uow.commit()
    assert advance.instance.definition_id == new.id
    task = the_open_task(uow_factory, instance_id)
    assert (task.element_id, task.name) == ("describe", "Describe what worries you")
    complete(Engine(), uow_factory, task.id, THREE_STEPS_PATH[0][1])  # restored with the new spec
    assert the_open_task(uow_factory, instance_id).element_id == "review"


def test_migrate_is_refused_when_the_waiting_task_is_gone(engine, uow_factory):
    instance_id = start(engine, uow_factory).instance.id
    # Version 2 drops the "describe" step: the start event leads straight to scoring.
    deploy(engine, uow_factory, content=without_describe())
    with uow_factory() as uow, pytest.raises(Conflict, match="describe"):
        engine.migrate(uow, instance_id, to_version=2)
    assert the_open_task(uow_factory, instance_id).element_id == "describe"


def test_migrate_places_a_waiting_task_the_target_dropped_where_the_mapping_says(
    engine, uow_factory
):
    instance_id = start(engine, uow_factory).instance.id
    task_id = the_open_task(uow_factory, instance_id).id
    deploy(engine, uow_factory, content=without_describe())
    with uow_factory() as uow:
        engine.migrate(uow, instance_id, to_version=2, mapping={"describe": "review"})
        uow.commit()
    task = the_open_task(uow_factory, instance_id)
    assert (task.id, task.element_id, task.name) == (task_id, "review", "Review the concern")
    complete(engine, uow_factory, task.id, THREE_STEPS_PATH[1][1])
    complete(
        engine, uow_factory, the_open_task(uow_factory, instance_id).id, THREE_STEPS_PATH[2][1]
    )
    with uow_factory() as uow:
        assert uow.session.get(ProcessInstance, instance_id).status == "completed"


def test_a_cached_copy_made_stale_elsewhere_is_not_saved_over_the_newer_state(engine, uow_factory):
    """Engine A holds the instance cached at version 1; engine B migrates it to version 2 of the
    diagram (same waiting task). A's completion must run on B's state, not on its stale copy."""
    instance_id = start(engine, uow_factory).instance.id
    task_id = the_open_task(uow_factory, instance_id).id
    renamed = fixture_bytes("three_steps.bpmn").replace(
        b'name="Review the concern"', b'name="Review the concern (v2)"'
    )
    other = Engine()
    new = deploy(other, uow_factory, content=renamed).definition
    with uow_factory() as uow:
        other.migrate(uow, instance_id, to_version=2)
        uow.commit()
    advance = complete(engine, uow_factory, task_id, THREE_STEPS_PATH[0][1])
    assert [t.name for t in advance.opened] == ["Review the concern (v2)"]
    with uow_factory() as uow:
        row = uow.session.get(ProcessInstance, instance_id)
        assert (row.definition_id, row.version) == (new.id, 3)


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "restored"])
def test_the_callers_variables_win_over_answers_and_are_not_kept_as_answers(uow_factory, cached):
    engine = Engine()
    deploy(engine, uow_factory)
    instance_id = start(engine, uow_factory).instance.id
    if not cached:
        engine.instances.clear()  # the step restores the workflow from the database
    task = the_open_task(uow_factory, instance_id)
    answers = {"concern": "x", "severity": 8, "consent_on_record": "given"}
    with uow_factory() as uow:
        engine.complete_task(uow, task.id, answers, variables={"consent_on_record": "withdrawn"})
        uow.commit()
    with uow_factory() as uow:
        assert uow.session.get(Task, task.id).data == answers  # what the person answered
        _, workflow = engine.load(uow, instance_id)
        assert workflow.last_task.data["consent_on_record"] == "withdrawn"  # what the step saw
