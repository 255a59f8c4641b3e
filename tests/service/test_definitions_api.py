"""/api/process-definitions: list, versions, xml, deploy (XML and multipart), validate, simulate."""

from __future__ import annotations

import hashlib
import io

from tests.support.helpers import (
    THREE_STEPS,
    THREE_STEPS_V2,
    WAIT,
    XML,
    assert_error,
    deploy_xml,
    start_instance,
)

# A sequence flow pointing at nothing: element f5, line 83 of the fixture.
BROKEN = THREE_STEPS.replace(b'targetRef="end_done"', b'targetRef="gone"')
BROKEN_LINE = THREE_STEPS[: THREE_STEPS.index(b'<bpmn:sequenceFlow id="f5"')].count(b"\n") + 1


def _multipart(client, *files: tuple[str, bytes], field: str = "file", url: str = ""):
    data = {field: [(io.BytesIO(content), name) for name, content in files]}
    return client.post(
        f"/api/process-definitions{url}", data=data, content_type="multipart/form-data"
    )


def _versions(client, key: str = "three_steps") -> list[int]:
    response = client.get(f"/api/process-definitions/{key}/versions")
    if response.status_code == 404:
        return []
    return [d["version"] for d in response.get_json()["items"]]


# -- deploy -------------------------------------------------------------------------------------
def test_deploy_as_xml_stores_the_file_its_hash_and_version_1(client):
    response = deploy_xml(client, filename="three_steps.bpmn")
    assert response.status_code == 201
    body = response.get_json()
    assert body["key"] == "three_steps"
    assert body["name"] == "Three steps"
    assert body["version"] == 1
    assert body["created"] is True
    assert body["filename"] == "three_steps.bpmn"
    assert body["content_hash"] == hashlib.sha256(THREE_STEPS).hexdigest()
    assert body["deployed_at"].endswith("+00:00")
    xml = client.get("/api/process-definitions/three_steps/xml")
    assert xml.status_code == 200
    assert xml.mimetype == "application/xml"
    assert xml.data == THREE_STEPS


def test_deploy_as_multipart_bpmn_files(client):
    response = _multipart(client, ("three_steps.bpmn", THREE_STEPS), ("wait.bpmn", WAIT))
    assert response.status_code == 201
    items = response.get_json()["items"]
    assert [(d["key"], d["version"], d["filename"]) for d in items] == [
        ("three_steps", 1, "three_steps.bpmn"),
        ("wait_for_message", 1, "wait.bpmn"),
    ]
    listed = client.get("/api/process-definitions").get_json()["items"]
    assert [d["key"] for d in listed] == ["three_steps", "wait_for_message"]


def test_deploy_as_one_multipart_file_answers_with_the_definition(client):
    response = _multipart(client, ("three_steps.bpmn", THREE_STEPS))
    assert response.status_code == 201
    assert response.get_json()["key"] == "three_steps"


def test_identical_redeploy_is_200_with_the_existing_version(client, deployed):
    again = deploy_xml(client)
    assert again.status_code == 200
    body = again.get_json()
    assert body["created"] is False
    assert (body["id"], body["version"]) == (deployed["id"], 1)
    assert _versions(client) == [1]
    same_as_multipart = _multipart(client, ("three_steps.bpmn", THREE_STEPS))
    assert same_as_multipart.status_code == 200
    assert _versions(client) == [1]


def test_changed_content_is_version_2_and_version_1_stays_runnable(client, deployed):
    second = deploy_xml(client, THREE_STEPS_V2)
    assert second.status_code == 201
    assert second.get_json()["version"] == 2
    assert second.get_json()["content_hash"] != deployed["content_hash"]

    assert _versions(client) == [1, 2]
    latest = client.get("/api/process-definitions").get_json()
    assert [(d["key"], d["version"]) for d in latest["items"]] == [("three_steps", 2)]
    assert latest["next_cursor"] is None
    for item in latest["items"]:
        assert {"key", "name", "version", "deployed_at", "deployed_by"} <= set(item)

    assert client.get("/api/process-definitions/three_steps/xml").data == THREE_STEPS_V2
    v1 = client.get("/api/process-definitions/three_steps/xml?version=1")
    assert (v1.status_code, v1.mimetype, v1.data) == (200, "application/xml", THREE_STEPS)
    v2 = client.get("/api/process-definitions/three_steps/xml?version=2")
    assert v2.data == THREE_STEPS_V2

    old = start_instance(client, version=1)
    assert old.status_code == 201, old.get_json()
    assert old.get_json()["definition_version"] == 1
    assert [t["element_id"] for t in old.get_json()["active_tasks"]] == ["describe"]
    new = start_instance(client)
    assert new.get_json()["definition_version"] == 2


def test_invalid_diagram_is_422_with_element_and_line_and_nothing_is_stored(client):
    response = deploy_xml(client, BROKEN, filename="broken.bpmn")
    error = assert_error(response, 422, "invalid_bpmn")
    assert error["details"] == [
        {
            "file": "broken.bpmn",
            "element_id": "f5",
            "line": BROKEN_LINE,
            "message": error["details"][0]["message"],
            "severity": "error",
        }
    ]
    assert "gone" in error["details"][0]["message"]
    assert client.get("/api/process-definitions").get_json()["items"] == []
    assert_error(client.get("/api/process-definitions/three_steps/versions"), 404, "not_found")


def test_one_invalid_file_in_a_multipart_deploy_stores_none_of_them(client):
    response = _multipart(client, ("wait.bpmn", WAIT), ("broken.bpmn", BROKEN))
    error = assert_error(response, 422, "invalid_bpmn")
    assert [(d["file"], d["element_id"]) for d in error["details"]] == [("broken.bpmn", "f5")]
    assert client.get("/api/process-definitions").get_json()["items"] == []


def test_invalid_new_version_leaves_the_old_one_alone(client, deployed):
    assert_error(deploy_xml(client, BROKEN), 422, "invalid_bpmn")
    assert _versions(client) == [1]
    assert client.get("/api/process-definitions/three_steps/xml").data == THREE_STEPS


def test_malformed_xml_is_422_with_a_line(client):
    error = assert_error(deploy_xml(client, b"<bpmn:definitions"), 422, "invalid_bpmn")
    assert error["details"][0]["line"] == 1
    assert client.get("/api/process-definitions").get_json()["items"] == []


def test_a_file_that_is_not_utf8_is_422_not_a_crash(client):
    latin1 = THREE_STEPS.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace(
        b'name="Three steps" isExecutable', b'name="Three st\xe9ps" isExecutable'
    )
    error = assert_error(deploy_xml(client, latin1), 422, "invalid_bpmn")
    assert "UTF-8" in error["details"][0]["message"]
    assert error["details"][0]["line"] == latin1[: latin1.index(b"\xe9")].count(b"\n") + 1
    assert client.get("/api/process-definitions").get_json()["items"] == []
    validated = client.post("/api/process-definitions/validate", data=latin1, headers=XML)
    assert validated.status_code == 200
    assert "UTF-8" in validated.get_json()["problems"][0]["message"]


def test_deploy_needs_xml_or_multipart_and_a_body(client):
    assert_error(client.post("/api/process-definitions", json={}), 415)
    assert_error(client.post("/api/process-definitions", data=b"", headers=XML), 400)


# -- reading --------------------------------------------------------------------------------------
def test_list_is_empty_before_anything_is_deployed(client):
    response = client.get("/api/process-definitions")
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_cursor": None}


def test_versions_and_xml_of_unknown_keys_and_versions_are_404(client, deployed):
    assert_error(client.get("/api/process-definitions/nope/versions"), 404, "not_found")
    assert_error(client.get("/api/process-definitions/nope/xml"), 404, "not_found")
    assert_error(client.get("/api/process-definitions/three_steps/xml?version=9"), 404)
    for bad in ("x", "-1", "1.5", "²"):
        assert_error(
            client.get("/api/process-definitions/three_steps/xml", query_string={"version": bad}),
            400,
        )


def test_versions_lists_every_version_oldest_first(client, deployed):
    deploy_xml(client, THREE_STEPS_V2)
    items = client.get("/api/process-definitions/three_steps/versions").get_json()["items"]
    assert [(d["version"], d["id"] == deployed["id"]) for d in items] == [(1, True), (2, False)]


# -- validate -----------------------------------------------------------------------------------
def test_validate_reports_problems_and_stores_nothing(client):
    good = client.post("/api/process-definitions/validate", data=THREE_STEPS, headers=XML)
    assert good.status_code == 200
    assert good.get_json() == {"problems": []}

    bad = client.post("/api/process-definitions/validate", data=BROKEN, headers=XML)
    assert bad.status_code == 200
    [problem] = bad.get_json()["problems"]
    assert (problem["element_id"], problem["line"]) == ("f5", BROKEN_LINE)

    multi = _multipart(client, ("a.bpmn", THREE_STEPS), ("b.bpmn", BROKEN), url="/validate")
    assert [p["file"] for p in multi.get_json()["problems"]] == ["b.bpmn"]
    assert client.get("/api/process-definitions").get_json()["items"] == []


# -- simulate -----------------------------------------------------------------------------------
def test_simulate_walks_the_path_and_stores_nothing(client, deployed):
    path = [
        {"element_id": "describe", "data": {"concern": "bruising", "severity": 8}},
        {"element_id": "review", "data": {"approved": True}},
    ]
    response = client.post("/api/process-definitions/three_steps/simulate", json={"path": path})
    assert response.status_code == 200
    body = response.get_json()
    assert body["reached"][:5] == ["start", "describe", "score", "review", "approved_gw"]
    assert body["waiting"] == ["act"]
    assert body["completed"] is False
    assert body["error"] is None
    assert body["data"]["high_risk"] is True
    assert client.get("/api/process-instances").get_json()["items"] == []

    rejected = client.post(
        "/api/process-definitions/three_steps/simulate",
        json={"path": [path[0], {"element_id": "review", "data": {"approved": False}}]},
    ).get_json()
    assert rejected["completed"] is True
    assert rejected["reached"][-1] == "end_rejected"


def test_simulate_reports_a_step_that_is_not_waiting(client, deployed):
    body = client.post(
        "/api/process-definitions/three_steps/simulate", json={"path": [{"element_id": "act"}]}
    ).get_json()
    assert body["error"]["step"] == 0
    assert body["waiting"] == ["describe"]


def test_simulate_a_named_version(client, deployed):
    deploy_xml(client, THREE_STEPS_V2)
    response = client.post(
        "/api/process-definitions/three_steps/simulate", json={"path": [], "version": 1}
    )
    assert response.status_code == 200
    assert response.get_json()["waiting"] == ["describe"]
    missing = client.post(
        "/api/process-definitions/three_steps/simulate", json={"path": [], "version": 7}
    )
    assert_error(missing, 404)


def test_simulate_refuses_bad_input_naming_the_field(client, deployed):
    url = "/api/process-definitions/three_steps/simulate"
    assert_error(client.post("/api/process-definitions/nope/simulate", json={"path": []}), 404)

    def field_of(body) -> list[str]:
        return [d["field"] for d in assert_error(client.post(url, json=body), 422)["details"]]

    assert field_of({}) == ["path"]
    assert field_of({"path": "describe"}) == ["path"]
    assert field_of({"path": [], "speed": 1}) == ["speed"]
    assert field_of({"path": ["describe"]}) == ["path[0]"]
    assert field_of({"path": [{"element_id": "describe", "data": "x"}]}) == ["path[0].data"]
    assert field_of({"path": [{"element_id": "describe", "data": [["a", 1]]}]}) == ["path[0].data"]
    assert field_of({"path": [{"element_id": "describe", "wait": 1}]}) == ["path[0].wait"]
    assert field_of({"path": [{"element_id": "describe", "data": {"1x": 1}}]}) == [
        "path[0].data.1x"
    ]
    assert field_of({"path": [], "variables": {"__import__": 1}}) == ["variables.__import__"]


def test_a_user_task_without_a_due_time_is_not_deployed(client):
    """Reminders and the overdue inbox need a due time on every step: refused, with the step."""
    undated = THREE_STEPS.replace(b' camunda:dueDate="2WD"', b"")
    line = undated[: undated.index(b'<bpmn:userTask id="review"')].count(b"\n") + 1
    deployed = deploy_xml(client, undated)
    checked = client.post(
        "/api/process-definitions/validate", data=undated, content_type="application/xml"
    )
    assert checked.status_code == 200
    for problems in (
        assert_error(deployed, 422, "invalid_bpmn")["details"],
        checked.get_json()["problems"],
    ):
        assert [(p["element_id"], p["line"]) for p in problems] == [("review", line)]
        assert "due time" in problems[0]["message"]
    assert client.get("/api/process-definitions").get_json()["items"] == []
