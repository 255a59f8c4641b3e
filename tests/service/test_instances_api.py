"""/api/process-instances: start, get, list, diagram, history.

Messages, cancel, If-Match and migrate: ``test_instance_changes_api.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.app import create_app
from tests.support.helpers import (
    THREE_STEPS_V2,
    WAIT,
    admin_client,
    assert_error,
    complete_task,
    deploy_xml,
    open_task_id,
    start_instance,
)
from workflows.clock import FrozenClock

INSTANCE_FIELDS = {
    "id",
    "process_key",
    "definition_version",
    "business_key",
    "state",
    "started_at",
    "ended_at",
    "variables",
    "active_tasks",
    "version",
}


def _start(client, **fields) -> dict:
    response = start_instance(client, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- start and read -----------------------------------------------------------------------------
def test_start_is_201_with_the_instance_and_its_first_task(client, deployed):
    response = start_instance(
        client, business_key="child-7", variables={"source": "school", "year": 9}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) >= INSTANCE_FIELDS
    assert body["process_key"] == "three_steps"
    assert body["definition_version"] == 1
    assert body["business_key"] == "child-7"
    assert body["state"] == "running"
    assert body["ended_at"] is None
    assert body["version"] == 1
    # The start form's fields (three_steps declares source, year, note), as a task's answers.
    assert body["variables"] == {"source": "school", "year": 9, "note": None}
    assert body["started_at"].endswith("+00:00")
    [task] = body["active_tasks"]
    assert (task["element_id"], task["name"], task["lane"], task["status"]) == (
        "describe",
        "Describe the concern",
        "practitioner",
        "open",
    )
    assert task["instance_id"] == body["id"]


def test_get_returns_the_same_instance(client, deployed):
    started = _start(client, business_key="child-1")
    response = client.get(f"/api/process-instances/{started['id']}")
    assert response.status_code == 200
    assert response.get_json() == started


def test_get_follows_the_instance_as_tasks_are_completed(app, client, deployed):
    instance_id = _start(client)["id"]
    describe = open_task_id(app, instance_id, "describe")
    complete_task(app, describe, {"concern": "bruising", "severity": 8})
    body = client.get(f"/api/process-instances/{instance_id}").get_json()
    assert [t["element_id"] for t in body["active_tasks"]] == ["review"]
    assert body["variables"]["high_risk"] is True
    assert body["version"] == 2

    complete_task(app, open_task_id(app, instance_id, "review"), {"approved": False})
    body = client.get(f"/api/process-instances/{instance_id}").get_json()
    assert body["state"] == "completed"
    assert body["ended_at"] is not None
    assert body["active_tasks"] == []


def test_starting_an_undeployed_key_is_404(client, deployed):
    assert_error(start_instance(client, key="nope"), 404, "not_found")
    assert_error(start_instance(client, version=3), 404, "not_found")
    assert client.get("/api/process-instances").get_json()["items"] == []


def test_unknown_instance_ids_are_404_on_every_route(client, deployed):
    missing = "00000000-0000-0000-0000-000000000000"
    for path in ("", "/diagram", "/history"):
        assert_error(client.get(f"/api/process-instances/{missing}{path}"), 404, "not_found")
    assert_error(client.post(f"/api/process-instances/{missing}/messages", json={"name": "x"}), 404)
    assert_error(client.post(f"/api/process-instances/{missing}/cancel", json={"reason": "x"}), 404)
    assert_error(client.get(f"/api/process-instances/{'x' * 300}"), 404)


@pytest.mark.parametrize(
    "variables, field",
    [
        ({"1st": 1}, "variables.1st"),
        ({"__class__": 1}, "variables.__class__"),
        ({"has space": 1}, "variables.has space"),
        ({"x" * 101: 1}, "variables." + "x" * 100 + "…"),  # a long name is cut when shown
    ],
)
def test_bad_variable_names_are_422_naming_the_field(client, deployed, variables, field):
    error = assert_error(start_instance(client, variables=variables), 422, "invalid_form")
    assert [d["field"] for d in error["details"]] == [field]
    assert client.get("/api/process-instances").get_json()["items"] == []


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, ["process_key"]),
        ({"process_key": ""}, ["process_key"]),
        ({"process_key": 3}, ["process_key"]),
        ({"process_key": "three_steps", "variables": []}, ["variables"]),
        ({"process_key": "three_steps", "business_key": 7}, ["business_key"]),
        ({"process_key": "three_steps", "version": "1"}, ["version"]),
        ({"process_key": "three_steps", "version": True}, ["version"]),
        ({"process_key": "three_steps", "colour": "red"}, ["colour"]),
        ({"process_key": "three_steps", "business_key": "c" * 201}, ["business_key"]),
        ({"process_key": "three_steps", "business_key": "a\x00b"}, ["business_key"]),
    ],
)
def test_wrong_types_unknown_and_oversized_fields_are_422_naming_the_field(
    client, deployed, body, fields
):
    response = client.post("/api/process-instances", json=body)
    error = assert_error(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == fields
    assert client.get("/api/process-instances").get_json()["items"] == []


# -- list ---------------------------------------------------------------------------------------
def test_list_filters_by_process_key_state_and_business_key(client, deployed):
    deploy_xml(client, WAIT)
    a = _start(client, business_key="child-a")
    b = _start(client, business_key="child-b")
    w = _start(client, key="wait_for_message", business_key="child-a")
    client.post(f"/api/process-instances/{b['id']}/cancel", json={"reason": "duplicate"})

    def ids(**query) -> set[str]:
        response = client.get("/api/process-instances", query_string=query)
        assert response.status_code == 200
        return {i["id"] for i in response.get_json()["items"]}

    assert ids() == {a["id"], b["id"], w["id"]}
    assert ids(process_key="three_steps") == {a["id"], b["id"]}
    assert ids(process_key="wait_for_message") == {w["id"]}
    assert ids(state="running") == {a["id"], w["id"]}
    assert ids(state="cancelled") == {b["id"]}
    assert ids(state="completed") == set()
    assert ids(business_key="child-a") == {a["id"], w["id"]}
    assert ids(business_key="child-a", process_key="three_steps") == {a["id"]}
    assert ids(business_key="nobody") == set()

    item = client.get("/api/process-instances", query_string={"state": "cancelled"}).get_json()
    assert item["items"][0]["state"] == "cancelled"
    assert item["next_cursor"] is None


def _walk_pages(client, limit: int, **query) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        args = {"limit": limit, **query}
        if cursor:
            args["cursor"] = cursor
        response = client.get("/api/process-instances", query_string=args)
        assert response.status_code == 200
        body = response.get_json()
        pages.append([i["id"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor does not advance"


def test_cursor_pagination_visits_every_instance_once_newest_first(client, deployed):
    started = [_start(client, business_key=f"child-{n}")["id"] for n in range(5)]
    pages = _walk_pages(client, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for page in pages for i in page] == list(reversed(started))

    exact = _walk_pages(client, limit=5)
    assert [len(p) for p in exact] == [5]

    filtered = _walk_pages(client, limit=1, business_key="child-3")
    assert filtered == [[started[3]]]


def test_cursor_pagination_with_identical_start_times(db_url):
    """All started in the same instant: the cursor's tie-break on the id must still page."""
    app = create_app(
        {"DATABASE_URL": db_url, "TESTING": True},
        clock=FrozenClock(datetime(2025, 3, 4, 10, 0, tzinfo=UTC)),
    )
    try:
        client = admin_client(app)
        deploy_xml(client)
        started = {_start(client)["id"] for _ in range(7)}
        pages = _walk_pages(client, limit=3)
        assert [len(p) for p in pages] == [3, 3, 1]
        seen = [i for page in pages for i in page]
        assert len(seen) == len(set(seen)) and set(seen) == started
        assert seen == sorted(seen, reverse=True)
    finally:
        app.extensions["safeguard"].db.dispose()


@pytest.mark.parametrize(
    "query",
    [
        {"state": "sleeping"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"limit": "²"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJ4IiwieSJd"},  # ["x","y"]: not a time
        {"cursor": "WzEsMl0="},  # [1,2]
    ],
)
def test_bad_list_arguments_are_400(client, query):
    assert_error(client.get("/api/process-instances", query_string=query), 400, "bad_request")


# -- diagram and history ------------------------------------------------------------------------
def test_diagram_marks_active_and_completed_elements_and_carries_the_xml(app, client, deployed):
    instance_id = _start(client)["id"]
    response = client.get(f"/api/process-instances/{instance_id}/diagram")
    assert response.status_code == 200
    body = response.get_json()
    assert body["xml"] == client.get("/api/process-definitions/three_steps/xml").text
    assert body["active"] == ["describe"]
    assert "start" in body["completed"]
    assert body["overdue"] == []

    complete_task(app, open_task_id(app, instance_id, "describe"), {"concern": "x", "severity": 2})
    body = client.get(f"/api/process-instances/{instance_id}/diagram").get_json()
    assert body["active"] == ["review"]
    assert {"start", "describe", "score"} <= set(body["completed"])
    assert "review" not in body["completed"]


def test_diagram_of_an_old_version_shows_that_version(client, deployed):
    instance_id = _start(client)["id"]
    deploy_xml(client, THREE_STEPS_V2)
    xml = client.get(f"/api/process-instances/{instance_id}/diagram").get_json()["xml"]
    assert xml == client.get("/api/process-definitions/three_steps/xml?version=1").text


def test_history_is_oldest_first(app, client, deployed):
    instance_id = _start(client, business_key="child-1")["id"]
    complete_task(app, open_task_id(app, instance_id, "describe"), {"concern": "x", "severity": 9})
    complete_task(app, open_task_id(app, instance_id, "review"), {"approved": False})
    response = client.get(f"/api/process-instances/{instance_id}/history")
    assert response.status_code == 200
    events = response.get_json()["items"]
    assert [(e["event"], e.get("task")) for e in events] == [
        ("started", None),
        ("task_opened", "describe"),
        ("task_completed", "describe"),
        ("task_opened", "review"),
        ("task_completed", "review"),
        ("completed", None),
    ]
    times = [e["at"] for e in events]
    assert times == sorted(times)
    assert events[2]["by"] == "pat"
