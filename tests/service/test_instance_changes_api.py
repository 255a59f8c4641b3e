"""/api/process-instances: messages, cancel, If-Match (a stale change is 409), migrate."""

from __future__ import annotations

import threading

from tests.conftest import fixture_bytes
from tests.service.test_instances_api import _start
from tests.support.helpers import (
    WAIT,
    admin_client,
    assert_error,
    complete_task,
    deploy_xml,
    open_task_id,
)


# -- messages -----------------------------------------------------------------------------------
def test_a_message_the_diagram_does_not_mark_external_is_422_naming_it(client, deployed):
    started = _start(client)
    response = client.post(
        f"/api/process-instances/{started['id']}/messages", json={"name": "docs_received"}
    )
    error = assert_error(response, 422, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["name"]
    assert "docs_received" in error["message"]
    after = client.get(f"/api/process-instances/{started['id']}").get_json()
    assert after["version"] == started["version"]
    assert [t["element_id"] for t in after["active_tasks"]] == ["describe"]


def test_a_message_the_instance_waits_for_moves_it_on(client):
    deploy_xml(client, WAIT)
    started = _start(client, key="wait_for_message")
    assert started["active_tasks"] == []
    response = client.post(
        f"/api/process-instances/{started['id']}/messages",
        json={"name": "docs_received", "payload": {"pages": 3}},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [t["element_id"] for t in body["active_tasks"]] == ["check_docs"]
    assert body["version"] == started["version"] + 1
    again = client.post(
        f"/api/process-instances/{started['id']}/messages", json={"name": "docs_received"}
    )
    assert_error(again, 409, "conflict")


def test_message_body_is_checked(client, deployed):
    instance_id = _start(client)["id"]
    url = f"/api/process-instances/{instance_id}/messages"
    assert [d["field"] for d in assert_error(client.post(url, json={}), 422)["details"]] == ["name"]
    bad_payload = client.post(url, json={"name": "x", "payload": [1]})
    assert [d["field"] for d in assert_error(bad_payload, 422)["details"]] == ["payload"]


# -- cancel -------------------------------------------------------------------------------------
def test_cancel_ends_the_instance_and_closes_its_tasks(client, deployed):
    started = _start(client)
    response = client.post(
        f"/api/process-instances/{started['id']}/cancel", json={"reason": "duplicate referral"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "cancelled"
    assert body["ended_at"] is not None
    assert body["active_tasks"] == []
    assert body["version"] == started["version"] + 1
    assert client.get(f"/api/process-instances/{started['id']}").get_json() == body
    history = client.get(f"/api/process-instances/{started['id']}/history").get_json()["items"]
    assert history[-1]["event"] == "cancelled"

    again = client.post(
        f"/api/process-instances/{started['id']}/cancel", json={"reason": "duplicate referral"}
    )
    assert_error(again, 409, "conflict")
    message = client.post(f"/api/process-instances/{started['id']}/messages", json={"name": "x"})
    assert_error(message, 409, "conflict")


def test_cancel_needs_a_reason(client, deployed):
    instance_id = _start(client)["id"]
    for body in ({}, {"reason": ""}, {"reason": 5}):
        error = assert_error(
            client.post(f"/api/process-instances/{instance_id}/cancel", json=body), 422
        )
        assert [d["field"] for d in error["details"]] == ["reason"]
    assert client.get(f"/api/process-instances/{instance_id}").get_json()["state"] == "running"


# -- If-Match: a stale change is 409 ------------------------------------------------------------
def test_if_match_with_the_current_version_lets_the_change_through(client, deployed):
    started = _start(client)
    response = client.post(
        f"/api/process-instances/{started['id']}/cancel",
        json={"reason": "duplicate"},
        headers={"If-Match": str(started["version"])},
    )
    assert response.status_code == 200
    assert response.get_json()["state"] == "cancelled"


def test_if_match_with_a_stale_version_is_409_and_changes_nothing(app, client, deployed):
    started = _start(client)
    complete_task(
        app, open_task_id(app, started["id"], "describe"), {"concern": "x", "severity": 1}
    )
    for header in (str(started["version"]), f'"{started["version"]}"'):
        response = client.post(
            f"/api/process-instances/{started['id']}/cancel",
            json={"reason": "stale"},
            headers={"If-Match": header},
        )
        assert_error(response, 409, "conflict")
    message = client.post(
        f"/api/process-instances/{started['id']}/messages",
        json={"name": "x"},
        headers={"If-Match": "1"},
    )
    assert_error(message, 409, "conflict")
    assert client.get(f"/api/process-instances/{started['id']}").get_json()["state"] == "running"


def test_if_match_that_is_not_a_version_is_400(client, deployed):
    instance_id = _start(client)["id"]
    response = client.post(
        f"/api/process-instances/{instance_id}/cancel",
        json={"reason": "x"},
        headers={"If-Match": "yesterday"},
    )
    assert_error(response, 400, "bad_request")


def test_concurrent_cancels_one_wins_the_others_are_409(app, deployed):
    instance_id = _start(admin_client(app))["id"]
    barrier = threading.Barrier(4, timeout=30)
    statuses: list[int] = []
    clients = [admin_client(app) for _ in range(4)]

    def cancel(client) -> None:
        barrier.wait()
        response = client.post(
            f"/api/process-instances/{instance_id}/cancel", json={"reason": "race"}
        )
        if response.status_code != 200:
            assert_error(response, 409, "conflict")
        statuses.append(response.status_code)

    threads = [threading.Thread(target=cancel, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [200, 409, 409, 409]
    body = admin_client(app).get(f"/api/process-instances/{instance_id}").get_json()
    assert (body["state"], body["version"]) == ("cancelled", 2)


# -- migrate -------------------------------------------------------------------------------------
def test_migrate_moves_the_instance_to_the_new_version(client, deployed):
    started = _start(client)
    renamed = fixture_bytes("three_steps.bpmn").replace(
        b'name="Describe the concern"', b'name="Describe what worries you"'
    )
    assert deploy_xml(client, renamed).status_code == 201
    response = client.post(
        f"/api/process-instances/{started['id']}/migrate", json={"to_version": 2}
    )
    assert response.status_code == 200
    assert response.get_json()["definition_version"] == 2
    body = client.get(f"/api/process-instances/{started['id']}").get_json()
    assert [t["name"] for t in body["active_tasks"]] == ["Describe what worries you"]
    again = client.post(f"/api/process-instances/{started['id']}/migrate", json={"to_version": 2})
    assert_error(again, 409, "conflict")
    missing = client.post(f"/api/process-instances/{started['id']}/migrate", json={"to_version": 9})
    assert_error(missing, 404)
    wrong = client.post(f"/api/process-instances/{started['id']}/migrate", json={"to_version": "2"})
    assert [d["field"] for d in assert_error(wrong, 422)["details"]] == ["to_version"]
