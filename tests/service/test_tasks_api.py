"""The worklist and acting on tasks through the API, as practitioners and managers would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from service.app import create_app
from tests.support.helpers import admin_client, assert_error, deploy_xml, make_user, token_client
from workflows.clock import FrozenClock

# Monday 2 March 2026, 10:00 London (GMT).
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TUESDAY_CLOSE = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FrozenClock(MONDAY)


@pytest.fixture
def app(db_url, clock):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    make_user(app, "maya", ["manager"], agency="school")
    make_user(app, "pat", ["practitioner"], agency="school", manager="maya")
    make_user(app, "sam", ["practitioner"], agency="school")
    make_user(app, "hugo", ["practitioner"], agency="health")
    make_user(app, "bea", ["board"], agency="partnership")
    assert deploy_xml(admin_client(app)).status_code == 201
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture
def people(app):
    return {name: token_client(app, name) for name in ("maya", "pat", "sam", "hugo", "bea")}


def _start(client, business_key="child-1") -> dict:
    response = client.post(
        "/api/process-instances", json={"process_key": "three_steps", "business_key": business_key}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _worklist(client, **args) -> list[dict]:
    response = client.get("/api/tasks", query_string=args)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def _describe(client, business_key="child-1") -> str:
    [task] = _start(client, business_key)["active_tasks"]
    return task["id"]


def test_a_new_task_is_due_at_the_close_of_the_next_working_day(people):
    task_id = _describe(people["pat"])
    task = people["pat"].get(f"/api/tasks/{task_id}").get_json()
    assert datetime.fromisoformat(task["due_at"]) == TUESDAY_CLOSE
    assert task["candidate_roles"] == ["practitioner"] and task["assignee"] is None
    assert [f["id"] for f in task["form"]] == ["concern", "severity"]
    assert task["form"][0] == {
        "id": "concern",
        "label": "What is the concern?",
        "type": "string",
        "required": True,
    }


def test_candidates_of_the_agency_see_the_task_and_one_claims_it(people):
    task_id = _describe(people["pat"])
    assert [t["id"] for t in _worklist(people["sam"], view="candidate")] == [task_id]
    assert _worklist(people["hugo"], view="candidate") == []  # another agency
    claimed = people["sam"].post(f"/api/tasks/{task_id}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "sam"
    assert [t["id"] for t in _worklist(people["sam"], view="mine")] == [task_id]
    assert _worklist(people["pat"], view="candidate") == []
    assert_error(people["pat"].post(f"/api/tasks/{task_id}/claim"), 409, "conflict")
    assert_error(people["pat"].post(f"/api/tasks/{task_id}/complete", json={}), 409)
    assert people["sam"].post(f"/api/tasks/{task_id}/unclaim").get_json()["assignee"] is None
    assert [t["id"] for t in _worklist(people["pat"], view="candidate")] == [task_id]


def test_a_role_that_is_not_a_candidate_cannot_claim(app, people):
    make_user(app, "mo", ["manager"], agency="school")
    task_id = _describe(people["pat"])
    # mo sees nothing of the case: a manager is not a candidate for a practitioner task.
    assert_error(token_client(app, "mo").post(f"/api/tasks/{task_id}/claim"), 404)
    assert_error(people["hugo"].post(f"/api/tasks/{task_id}/claim"), 404)


def test_invalid_answers_are_422_naming_each_field_and_change_nothing(people):
    task_id = _describe(people["pat"])
    before = people["pat"].get(f"/api/tasks/{task_id}").get_json()
    response = people["pat"].post(
        f"/api/tasks/{task_id}/complete",
        json={"data": {"severity": "very", "colour": "red"}},
    )
    error = assert_error(response, 422, "invalid_form")
    fields = {d["field"] for d in error["details"]}
    assert fields == {"concern", "severity", "colour"}
    after = people["pat"].get(f"/api/tasks/{task_id}").get_json()
    assert after["version"] == before["version"] and after["assignee"] is None
    assert _worklist(people["pat"], view="candidate")[0]["id"] == task_id


def test_completing_moves_on_and_a_second_completion_is_409(people):
    task_id = _describe(people["pat"])
    response = people["pat"].post(
        f"/api/tasks/{task_id}/complete", json={"data": {"concern": "bruises", "severity": 8}}
    )
    assert response.status_code == 200, response.get_json()
    instance = response.get_json()
    assert [t["element_id"] for t in instance["active_tasks"]] == ["review"]
    assert instance["variables"]["high_risk"] is True
    again = people["pat"].post(
        f"/api/tasks/{task_id}/complete", json={"data": {"concern": "bruises"}}
    )
    assert "already completed" in assert_error(again, 409, "conflict")["message"]


def test_the_diagram_gives_a_step_back_to_whoever_started_it(people):
    task_id = _describe(people["pat"])
    people["pat"].post(f"/api/tasks/{task_id}/complete", json={"data": {"concern": "x"}})
    [review] = _worklist(people["maya"], view="candidate")
    done = people["maya"].post(
        f"/api/tasks/{review['id']}/complete", json={"data": {"approved": True}}
    )
    [act] = done.get_json()["active_tasks"]
    assert act["element_id"] == "act" and act["assignee"] == "pat"  # camunda:assignee="initiator"
    assert [t["element_id"] for t in _worklist(people["pat"], view="mine")] == ["act"]


def test_a_manager_assigns_and_sees_the_team_view_with_overdue_work(people, clock):
    task_id = _describe(people["pat"])
    assert_error(people["pat"].post(f"/api/tasks/{task_id}/assign", json={"user": "pat"}), 403)
    bad = people["maya"].post(f"/api/tasks/{task_id}/assign", json={"user": "bea"})
    assert assert_error(bad, 422)["details"][0]["field"] == "user"
    given = people["maya"].post(f"/api/tasks/{task_id}/assign", json={"user": "pat"})
    assert given.status_code == 200 and given.get_json()["assignee"] == "pat"
    assert [t["id"] for t in _worklist(people["maya"], view="team")] == [task_id]
    assert _worklist(people["maya"], view="team", overdue="true") == []
    clock.advance(timedelta(days=2))  # Wednesday: past Tuesday's close
    [late] = _worklist(people["maya"], view="team", overdue="true")
    assert late["id"] == task_id and late["overdue"] is True
    assert_error(people["pat"].get("/api/tasks?view=team"), 403)


def test_if_match_with_a_stale_version_is_409(people):
    task_id = _describe(people["pat"])
    version = people["pat"].get(f"/api/tasks/{task_id}").get_json()["version"]
    people["pat"].post(f"/api/tasks/{task_id}/claim", headers={"If-Match": str(version)})
    stale = people["pat"].post(f"/api/tasks/{task_id}/unclaim", headers={"If-Match": str(version)})
    assert_error(stale, 409)


@pytest.mark.parametrize("args", [{"view": "everything"}, {"overdue": "maybe"}, {"sort": "name"}])
def test_bad_worklist_arguments_are_400(people, args):
    assert_error(people["pat"].get("/api/tasks", query_string=args), 400)


def test_two_people_completing_at_once_exactly_one_wins(app, people):
    # tom starts the case and tia manages him, so both still see it once the task is done:
    # losing the race is a 409 for them, not a 404 (someone who only held the task, or could
    # take it, stops seeing the case when it is done).
    make_user(app, "tia", ["practitioner", "manager"], agency="school")
    make_user(app, "tom", ["practitioner"], agency="school", manager="tia")
    task_id = _describe(token_client(app, "tom"))
    clients = [token_client(app, name) for name in ("tom", "tia", "tom", "tia")]
    barrier = threading.Barrier(len(clients), timeout=30)
    statuses: list[int] = []

    def complete(client) -> None:
        barrier.wait()
        response = client.post(f"/api/tasks/{task_id}/complete", json={"data": {"concern": "race"}})
        if response.status_code != 200:
            assert_error(response, 409, "conflict")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=complete, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409, 409, 409]
