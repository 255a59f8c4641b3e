"""Values the service owns cannot come from a caller (issue 14, point 2), played as an attacker
through the HTTP API: start variables, business keys, messages, task answers, and the register and
consent rows each attempt would plant."""

from __future__ import annotations

import pytest

from tests.conftest import fixture_bytes
from tests.diagrams.walking import BPMN
from tests.support.helpers import (
    THREE_STEPS,
    WAIT,
    assert_error,
    auditor_client,
    deploy_xml,
    make_user,
    open_task_id,
    start_instance,
    token_client,
)

SHIPPED = ("information_sharing", "early_help_caf", "referral", "escalation")
PLANTED_ENTRY = {
    "decision": "share",
    "with_consent": True,
    "reasons": "planted by a caller",
    "recipients": [{"agency": "police"}],
}
PLANTED_CONSENT = {"person": "nobody", "agencies": ["police"], "purposes": ["all"]}
SERVICE_OWNED = {
    "initiator": "maya",
    "consent_on_record": "given",
    "register_entry": PLANTED_ENTRY,
    "consent_entry": PLANTED_CONSENT,
}


@pytest.fixture
def client(app):
    """Someone who deploys diagrams and does every kind of casework at a school (and keeps the
    consent register): what these tests try, they try as a caseworker with every role."""
    roles = ["process_owner", "practitioner", "manager", "dsl", "csc", "csc_manager"]
    make_user(app, "cass", roles, agency="school")
    return token_client(app, "cass")


@pytest.fixture
def shipped(client):
    for name in SHIPPED:
        response = deploy_xml(client, (BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
        assert response.status_code == 201, response.get_json()


def _register(client, business_key: str) -> list:
    """The child's sharing-register entries, as the data protection officer reads them."""
    auditor = auditor_client(client.application)
    return auditor.get(f"/api/sharing-records?child={business_key}").get_json()["items"]


def _nothing_recorded(client, business_key: str) -> None:
    assert _register(client, business_key) == []
    assert client.get(f"/api/consents?child={business_key}").get_json()["items"] == []


def _instances(client, business_key: str) -> list:
    return client.get(f"/api/process-instances?business_key={business_key}").get_json()["items"]


@pytest.mark.parametrize("name", sorted(SERVICE_OWNED))
@pytest.mark.parametrize("key", SHIPPED)
def test_a_start_cannot_set_what_the_service_owns(client, shipped, key, name):
    variables = {name: SERVICE_OWNED[name]}
    response = start_instance(client, key, business_key="child-1", variables=variables)
    error = assert_error(response, 422, "invalid_form")
    assert [d["field"] for d in error["details"]] == [f"variables.{name}"]
    assert _instances(client, "child-1") == []
    _nothing_recorded(client, "child-1")


def test_a_shipped_diagram_takes_no_start_variables_but_starts_without_them(client_for, shipped):
    pat = client_for("pat", ["practitioner"], agency="school")
    error = assert_error(
        start_instance(pat, "referral", business_key="c", variables={"urgent": True}), 422
    )
    assert error["details"] == [
        {"field": "variables.urgent", "message": "This is not a start input of this process"}
    ]
    for empty in (None, {}):
        started = start_instance(pat, "referral", business_key="c", variables=empty)
        assert started.status_code == 201, started.get_json()
        # initiator is the service's: the referrer's own step comes back to them
        assert started.get_json()["active_tasks"][0]["assignee"] == "pat"


@pytest.mark.parametrize(
    "variables, field, message",
    [
        ({"year": "9"}, "variables.year", "Enter a whole number"),
        ({"year": 14}, "variables.year", "Enter 13 or less"),
        ({"source": True}, "variables.source", "Enter text"),
        ({"source": "a\nb"}, "variables.source", "Remove control characters and line breaks"),
        ({"note": "x", "n": 1}, "variables.n", "This is not a start input of this process"),
    ],
)
def test_start_inputs_are_checked_like_answers(client, deployed, variables, field, message):
    error = assert_error(start_instance(client, variables=variables), 422, "invalid_form")
    assert {"field": field, "message": message} in error["details"]
    assert client.get("/api/process-instances").get_json()["items"] == []


def test_a_start_form_field_named_for_a_service_value_is_refused(client):
    xml = THREE_STEPS.replace(b'id="note" label="A first note"', b'id="initiator" label="Who"')
    assert deploy_xml(client, xml).status_code == 201
    error = assert_error(start_instance(client, variables={"initiator": "maya"}), 422)
    assert {
        "field": "variables.initiator",
        "message": "The service sets this value; it is not an input",
    } in error["details"]  # noqa: E501


@pytest.mark.parametrize("business_key", ["", " ", "\t\n "])
def test_a_blank_business_key_is_422(client, deployed, shipped, business_key):
    for key in ("three_steps", "information_sharing"):
        error = assert_error(start_instance(client, key, business_key=business_key), 422)
        assert [d["field"] for d in error["details"]] == ["business_key"]
    assert client.get("/api/process-instances").get_json()["items"] == []


def test_a_per_child_process_needs_a_business_key(client, deployed, shipped):
    for key in SHIPPED:
        error = assert_error(start_instance(client, key), 422, "invalid_input")
        assert error["details"] == [{"field": "business_key", "message": "is required"}]
    assert start_instance(client).status_code == 201  # a test fixture, not about a child
    padded = start_instance(client, "referral", business_key="  child-2 ").get_json()
    assert padded["business_key"] == "child-2"


def test_consent_withdrawn_cannot_be_sent_from_outside(client, shipped):
    started = start_instance(client, "early_help_caf", business_key="child-3").get_json()
    url = f"/api/process-instances/{started['id']}/messages"
    for name in ("consent_withdrawn", "start_referral", "register_entry"):
        response = client.post(url, json={"name": name, "payload": {"reason": "forged"}})
        error = assert_error(response, 422, "invalid_input")
        assert error["details"][0]["field"] == "name" and name in error["message"]
    after = client.get(f"/api/process-instances/{started['id']}").get_json()
    assert after["version"] == started["version"]
    assert after["active_tasks"] == started["active_tasks"]
    assert [i["process_key"] for i in _instances(client, "child-3")] == ["early_help_caf"]
    _nothing_recorded(client, "child-3")


def test_an_external_message_payload_cannot_plant_an_entry(client):
    deploy_xml(client, WAIT)
    started = start_instance(client, "wait_for_message", business_key="child-4").get_json()
    payload = {"register_entry": PLANTED_ENTRY, "consent_entry": PLANTED_CONSENT}
    delivered = client.post(
        f"/api/process-instances/{started['id']}/messages",
        json={"name": "docs_received", "payload": payload},
    )
    assert delivered.status_code == 200, delivered.get_json()
    variables = delivered.get_json()["variables"]
    assert "register_entry" not in variables and "consent_entry" not in variables
    assert variables["docs_received"] == payload  # kept under the message's own name
    _nothing_recorded(client, "child-4")


def test_an_answer_cannot_plant_an_entry(app, client, shipped):
    started = start_instance(client, "early_help_caf", business_key="child-5").get_json()
    task_id = open_task_id(app, started["id"], "explain_sharing")
    data = {"explained": True, "explained_on": "2026-03-02", "consent_entry": PLANTED_CONSENT}
    response = client.post(f"/api/tasks/{task_id}/complete", json={"data": data})
    error = assert_error(response, 422, "invalid_form")
    assert error["details"] == [
        {"field": "consent_entry", "message": "This field is not on the form"}
    ]  # noqa: E501
    _nothing_recorded(client, "child-5")


def test_a_recorded_entry_is_recorded_once_by_the_script_that_made_it(app, client, shipped):
    """record_consent leaves consent_entry; later scripts (record_withdrawal, which sees the
    instance's data) inherit it and must not record it again."""
    started = start_instance(client, "early_help_caf", business_key="child-6").get_json()
    steps = [
        ("explain_sharing", {"explained": True, "explained_on": "2026-03-02"}),
        (
            "seek_consent",
            {
                "consent_outcome": "given",
                "consent_agencies": "health, school",
                "consent_purposes": "assessment",
                "consent_given_by": "mother",
                "consent_how": "written",
            },
        ),
    ]
    for element_id, data in steps:
        task_id = open_task_id(app, started["id"], element_id)
        done = client.post(f"/api/tasks/{task_id}/complete", json={"data": data})
        assert done.status_code == 200, done.get_json()
    [consent] = client.get("/api/consents?child=child-6").get_json()["items"]
    withdrawn = client.post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "moved"})
    assert withdrawn.status_code == 200, withdrawn.get_json()
    consents = client.get("/api/consents?child=child-6").get_json()["items"]
    assert [c["person"] for c in consents] == ["mother"]
    # the withdrawal goes to the manager's proportionality check; respected, it is recorded
    task_id = open_task_id(app, started["id"], "withdrawal_check")
    answers = {"proportionality_decision": "respect_withdrawal", "justification": "No concern"}
    done = client.post(f"/api/tasks/{task_id}/complete", json={"data": answers})
    assert done.status_code == 200, done.get_json()
    records = _register(client, "child-6")
    assert [(r["decision"], r["consent_status"]) for r in records] == [("not_share", "withdrawn")]


def test_an_entry_carried_into_a_later_script_is_not_recorded_again(app, client):
    """Only the script that produced the entry in its advance is recorded: ``tidy_up`` runs
    with ``register_entry`` inherited from ``record_decision`` and records nothing."""
    assert deploy_xml(client, fixture_bytes("record_then_more.bpmn")).status_code == 201
    started = start_instance(client, "record_then_more", business_key="child-7").get_json()
    assert len(_register(client, "child-7")) == 1
    task_id = open_task_id(app, started["id"], "confirm")
    done = client.post(f"/api/tasks/{task_id}/complete", json={"data": {"note": "ok"}})
    assert done.get_json()["state"] == "completed"
    [record] = _register(client, "child-7")
    assert (record["decision"], record["reasons"]) == ("not_share", "No legitimate purpose")
