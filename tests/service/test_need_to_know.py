"""Need-to-know: an instance is seen only by its parties, their managers and candidates."""

from __future__ import annotations

import pytest

from tests.support.helpers import (
    assert_error,
    casework_people,
    complete_task,
    deploy_xml,
    open_task_id,
)

PEOPLE = {
    "maya": (["manager"], "school", None),
    "pat": (["practitioner"], "school", "maya"),
    "sam": (["practitioner"], "school", None),
    "hugo": (["practitioner", "manager"], "health", None),  # an outsider with every role needed
    "colin": (["csc"], "childrens_social_care", None),
    "bea": (["board"], "partnership", None),
}


@pytest.fixture
def people(client, client_for):
    return casework_people(client, client_for, PEOPLE)


@pytest.fixture
def case(people) -> str:
    response = people["pat"].post(
        "/api/process-instances", json={"process_key": "three_steps", "business_key": "child-1"}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _visible(client) -> set[str]:
    return {i["id"] for i in client.get("/api/process-instances").get_json()["items"]}


def _routes(instance_id: str):
    base = f"/api/process-instances/{instance_id}"
    return [
        ("GET", base, None),
        ("GET", f"{base}/diagram", None),
        ("GET", f"{base}/history", None),
        ("POST", f"{base}/messages", {"name": "anything"}),
        ("POST", f"{base}/cancel", {"reason": "not mine"}),
    ]


def test_an_outsider_gets_404_on_every_instance_route(people, case):
    outsider = people["hugo"]
    for method, url, body in _routes(case):
        response = outsider.open(url, method=method, json=body)
        error = assert_error(response, 404, "not_found")
        assert "does not exist" in error["message"], url
    # ... exactly as for an instance that does not exist at all.
    missing = assert_error(people["hugo"].get("/api/process-instances/nope"), 404)
    assert missing["message"].endswith("does not exist")
    assert case not in _visible(outsider)
    assert _visible(people["colin"]) == set()
    assert_error(people["bea"].get("/api/process-instances"), 403)  # the Board does no casework


def test_the_starter_their_manager_and_agency_candidates_see_the_case(people, case):
    for name in ("pat", "maya", "sam"):
        assert people[name].get(f"/api/process-instances/{case}").status_code == 200, name
        assert case in _visible(people[name]), name


def test_a_candidate_stops_seeing_the_case_when_no_task_of_theirs_is_open(app, people, case):
    complete_task(app, open_task_id(app, case, "describe"), {"concern": "x", "severity": 2})
    # ``review`` is a manager task now: sam (practitioner, not a party) no longer sees the case.
    assert_error(people["sam"].get(f"/api/process-instances/{case}"), 404)
    assert case not in _visible(people["sam"])
    assert case in _visible(people["pat"]) and case in _visible(people["maya"])
    assert case not in _visible(people["hugo"])  # a manager, but of another agency


def test_starting_another_process_for_a_child_shows_only_that_one(people, case):
    own = people["colin"].post(
        "/api/process-instances",
        json={"process_key": "wait_for_message", "business_key": "child-1"},
    )
    assert own.status_code == 201
    # colin is a party to the instance he started, and to nothing else of child-1's.
    assert_error(people["colin"].get(f"/api/process-instances/{case}"), 404)
    assert _visible(people["colin"]) == {own.get_json()["id"]}
    # Nor does pat see colin's: she started another process for the child, not this one.
    assert own.get_json()["id"] not in _visible(people["pat"])


def test_a_front_door_role_sees_cases_waiting_for_it(people):
    started = people["pat"].post(
        "/api/process-instances",
        json={"process_key": "wait_for_message", "business_key": "child-3"},
    )
    instance_id = started.get_json()["id"]
    assert_error(people["colin"].get(f"/api/process-instances/{instance_id}"), 404)
    message = {"name": "docs_received"}
    delivered = people["pat"].post(f"/api/process-instances/{instance_id}/messages", json=message)
    assert delivered.status_code == 200, delivered.get_json()
    # Its task is in the csc lane now open: any MASH social worker may pick it up.
    assert people["colin"].get(f"/api/process-instances/{instance_id}").status_code == 200
    assert_error(people["hugo"].get(f"/api/process-instances/{instance_id}"), 404)


def test_an_administrator_sees_no_case_they_do_no_work_on(app, client, case):
    """Running the system is not doing a child's work: 404 and absent from every list."""
    assert_error(client.get(f"/api/process-instances/{case}"), 404)
    assert case not in _visible(client)
    task_id = open_task_id(app, case, "describe")
    for view in ("mine", "candidate", "all"):
        items = client.get("/api/tasks", query_string={"view": view}).get_json()["items"]
        assert task_id not in {t["id"] for t in items}, view
    assert_error(client.post(f"/api/tasks/{task_id}/claim"), 404)
    assert client.get("/cases/child-1").status_code == 404


def test_roles_are_checked_before_anything_else(people, case):
    assert_error(people["bea"].post("/api/process-instances", json={}), 403, "forbidden")
    assert_error(deploy_xml(people["pat"]), 403, "forbidden")
    migrate = people["pat"].post(f"/api/process-instances/{case}/migrate", json={"to_version": 1})
    assert_error(migrate, 403, "forbidden")
    cancel = people["pat"].post(f"/api/process-instances/{case}/cancel", json={"reason": "x"})
    assert_error(cancel, 403, "forbidden")
    assert (
        people["maya"]
        .post(f"/api/process-instances/{case}/cancel", json={"reason": "duplicate"})
        .status_code
        == 200
    )


def test_an_outsider_gets_404_on_every_task_route(people, case):
    task_id = (
        people["pat"].get(f"/api/process-instances/{case}").get_json()["active_tasks"][0]["id"]
    )
    outsider = people["hugo"]
    for method, url, body in [
        ("GET", f"/api/tasks/{task_id}", None),
        ("POST", f"/api/tasks/{task_id}/claim", None),
        ("POST", f"/api/tasks/{task_id}/unclaim", None),
        ("POST", f"/api/tasks/{task_id}/assign", {"user": "hugo"}),
        ("POST", f"/api/tasks/{task_id}/complete", {"data": {"concern": "x"}}),
        (
            "POST",
            f"/api/tasks/{task_id}/extend",
            {"due_at": "2030-01-01T00:00:00+00:00", "reason": "x"},
        ),
    ]:
        error = assert_error(outsider.open(url, method=method, json=body), 404, "not_found")
        assert "does not exist" in error["message"], url
    for view in ("mine", "candidate", "all"):
        items = outsider.get("/api/tasks", query_string={"view": view}).get_json()["items"]
        assert task_id not in {t["id"] for t in items}, view


def _candidate_view(client) -> set[str]:
    items = client.get("/api/tasks", query_string={"view": "candidate"}).get_json()["items"]
    return {t["id"] for t in items}


def test_the_candidate_view_lists_claimable_tasks_only_of_cases_the_viewer_may_see(
    app, people, case
):
    describe = open_task_id(app, case, "describe")
    # An agency-scoped role: a practitioner of the case's agency may claim it, one elsewhere not.
    assert describe in _candidate_view(people["sam"])
    assert describe not in _candidate_view(people["hugo"])
    started = (
        people["pat"]
        .post(
            "/api/process-instances",
            json={"process_key": "wait_for_message", "business_key": "child-4"},
        )
        .get_json()["id"]
    )
    message = {"name": "docs_received"}
    delivered = people["pat"].post(f"/api/process-instances/{started}/messages", json=message)
    assert delivered.status_code == 200
    front_door = open_task_id(app, started, "check_docs")
    # A role across agencies (the front door) sees the task waiting for it, nobody else's.
    assert _candidate_view(people["colin"]) == {front_door}
    assert front_door not in _candidate_view(people["hugo"])
