"""/api/process-definitions/<key>/migration-plan and /migrations: moving running instances.

A process owner plans (nothing changes), maps steps the new version dropped, and applies: each
instance moves or stays on its own, a race on one is reported and the others move, every move
is audited, and no answer names a child.
"""

from __future__ import annotations

from sqlalchemy import select

from service.casework import migrate_many
from service.context import services
from storage import UnitOfWork
from storage.models import AuditEvent
from tests.support.helpers import (
    THREE_STEPS_V2,
    assert_error,
    complete_task,
    deploy_xml,
    open_task_id,
    start_instance,
)
from tests.workflows.helpers import THREE_STEPS_PATH, without_describe

PLAN = "/api/process-definitions/three_steps/migration-plan"
APPLY = "/api/process-definitions/three_steps/migrations"
CHILD = "child-4471"


def _owner(client_for):
    return client_for("olive", ["process_owner"], agency="partnership")


def _two_at_describe_one_at_review(app, client) -> dict[str, str]:
    """Three instances of version 1: two wait at "describe", one at "review"."""
    assert deploy_xml(client).status_code == 201
    ids = [start_instance(client, business_key=CHILD).get_json()["id"] for _ in range(3)]
    complete_task(app, open_task_id(app, ids[2], "describe"), THREE_STEPS_PATH[0][1])
    return {"first": ids[0], "second": ids[1], "reviewing": ids[2]}


def _version_of(client, instance_id: str) -> int:
    return client.get(f"/api/process-instances/{instance_id}").get_json()["definition_version"]


def test_a_plan_says_per_instance_whether_it_can_move_and_changes_nothing(app, client, client_for):
    ids = _two_at_describe_one_at_review(app, client)
    assert deploy_xml(client, without_describe()).status_code == 201
    response = _owner(client_for).post(PLAN, json={"from_version": 1, "to_version": 2})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["can_move"], body["cannot_move"]) == (1, 2)
    lines = {line["instance_id"]: line for line in body["instances"]}
    assert lines[ids["reviewing"]]["active_steps"] == ["review"]
    assert lines[ids["reviewing"]]["can_move"] is True
    stuck = lines[ids["first"]]
    assert (stuck["active_steps"], stuck["can_move"]) == (["describe"], False)
    assert "version 2 has no describe" in stuck["reason"]
    assert CHILD not in response.get_data(as_text=True)
    assert {_version_of(client, i) for i in ids.values()} == {1}


def test_a_mapping_places_the_steps_the_new_version_dropped(app, client, client_for):
    ids = _two_at_describe_one_at_review(app, client)
    assert deploy_xml(client, without_describe()).status_code == 201
    body = {"from_version": 1, "to_version": 2, "mapping": {"describe": "review"}}
    planned = _owner(client_for).post(PLAN, json=body).get_json()
    assert (planned["can_move"], planned["cannot_move"]) == (3, 0)
    used = {line["instance_id"]: line["mapping_used"] for line in planned["instances"]}
    assert used[ids["first"]] == {"describe": "review"} and used[ids["reviewing"]] == {}
    done = _owner(client_for).post(APPLY, json=body)
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["moved"], done.get_json()["stays"]) == (3, 0)
    for instance_id in ids.values():  # each goes on to its end in version 2
        assert _version_of(client, instance_id) == 2
        for element_id, answers in THREE_STEPS_PATH[1:]:
            complete_task(app, open_task_id(app, instance_id, element_id), answers)
        assert client.get(f"/api/process-instances/{instance_id}").get_json()["state"] == (
            "completed"
        )


def test_applying_moves_those_that_can_and_audits_each_move_and_the_operation(
    app, client, client_for
):
    ids = _two_at_describe_one_at_review(app, client)
    assert deploy_xml(client, without_describe()).status_code == 201
    response = _owner(client_for).post(APPLY, json={"from_version": 1, "to_version": 2})
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    assert (done["moved"], done["stays"], done["conflict"]) == (1, 2, 0)
    outcomes = {r["instance_id"]: r["outcome"] for r in done["results"]}
    assert outcomes == {ids["first"]: "stays", ids["second"]: "stays", ids["reviewing"]: "moved"}
    assert CHILD not in response.get_data(as_text=True)
    assert [_version_of(client, ids[n]) for n in ("first", "reviewing")] == [1, 2]
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        events = unit.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action.in_(["migration.instance", "migrations.apply"])
            )
        ).all()
    moves = [e for e in events if e.action == "migration.instance"]
    assert [(e.instance_id, e.case_key, e.actor) for e in moves] == [
        (ids["reviewing"], CHILD, "olive")
    ]
    operation = [e for e in events if e.action == "migrations.apply"]
    assert len(operation) == 1 and operation[0].detail["moved"] == 1
    assert operation[0].detail["operation_id"] == moves[0].detail["operation_id"]


def test_an_instance_changed_after_it_was_listed_is_a_conflict_and_the_others_move(
    app, client, client_for, monkeypatch
):
    ids = _two_at_describe_one_at_review(app, client)
    assert deploy_xml(client, THREE_STEPS_V2).status_code == 201
    moving = migrate_many.apply

    def someone_completes_a_step_once_listed(desk, actor, aim, listed):
        complete_task(app, open_task_id(app, ids["second"], "describe"), THREE_STEPS_PATH[0][1])
        return moving(desk, actor, aim, listed)

    monkeypatch.setattr(migrate_many, "apply", someone_completes_a_step_once_listed)
    done = _owner(client_for).post(APPLY, json={"from_version": 1, "to_version": 2}).get_json()
    outcomes = {r["instance_id"]: r["outcome"] for r in done["results"]}
    assert outcomes == {ids["first"]: "moved", ids["second"]: "conflict", ids["reviewing"]: "moved"}
    assert [_version_of(client, ids[n]) for n in ("first", "second", "reviewing")] == [2, 1, 2]
    second = client.get(f"/api/process-instances/{ids['second']}").get_json()
    assert [t["element_id"] for t in second["active_tasks"]] == ["review"]  # its step stands


def test_bad_plans_are_refused_naming_the_field(app, client, client_for):
    _two_at_describe_one_at_review(app, client)
    assert deploy_xml(client, without_describe()).status_code == 201
    owner = _owner(client_for)
    for url in (PLAN, APPLY):
        cases = [
            ({"from_version": 1, "to_version": 1}, "to_version"),
            ({"from_version": 1, "to_version": "2"}, "to_version"),
            (
                {"from_version": 1, "to_version": 2, "mapping": {"nowhere": "review"}},
                "mapping.nowhere",
            ),
            (
                {"from_version": 1, "to_version": 2, "mapping": {"describe": "gone"}},
                "mapping.describe",
            ),
            ({"from_version": 1, "to_version": 2, "mapping": {"describe": 3}}, "mapping.describe"),
            ({"from_version": 1, "to_version": 2, "mapping": []}, "mapping"),
        ]
        for body, field in cases:
            error = assert_error(owner.post(url, json=body), 422)
            assert field in [d["field"] for d in error["details"]], (body, error)
        assert_error(owner.post(url, json={"from_version": 1, "to_version": 9}), 404)
        missing = "/api/process-definitions/nothing/migration-plan"
        assert_error(owner.post(missing, json={"from_version": 1, "to_version": 2}), 404)
    assert {_version_of(client, i["id"]) for i in _listed(client)} == {1}


def _listed(client) -> list[dict]:
    return client.get("/api/process-instances?process_key=three_steps").get_json()["items"]


def test_only_process_owners_plan_or_move(app, client, client_for):
    _two_at_describe_one_at_review(app, client)
    assert deploy_xml(client, THREE_STEPS_V2).status_code == 201
    practitioner = client_for("pat", ["practitioner"], agency="school")
    for url in (PLAN, APPLY):
        assert_error(practitioner.post(url, json={"from_version": 1, "to_version": 2}), 403)
