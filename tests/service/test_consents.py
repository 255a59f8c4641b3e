"""The consent register: recorded with its scope, withdrawn (never deleted), told to processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.helpers import assert_error, deploy_xml

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
CONSENT = {
    "child": "child-5",
    "person": "mother",
    "agencies": ["school", "health"],
    "purposes": ["early help assessment"],
    "how": "written",
}


def _work_for_child_5(who) -> str:
    """Start a process for child-5: what gives ``who`` need-to-know of the child."""
    started = who.post(
        "/api/process-instances", json={"process_key": "three_steps", "business_key": "child-5"}
    )
    assert started.status_code == 201, started.get_json()
    return started.get_json()["id"]


@pytest.fixture
def people(client, client_for):
    assert deploy_xml(client).status_code == 201
    pat = client_for("pat", ["practitioner"], agency="school")
    _work_for_child_5(pat)
    return {"pat": pat, "hugo": client_for("hugo", ["practitioner"], agency="health")}


def test_consents_need_need_to_know_of_the_child(client_for, client):
    assert deploy_xml(client).status_code == 201
    sam = client_for("sam", ["practitioner"], agency="school")
    assert sam.get("/api/consents", query_string={"child": "child-5"}).status_code == 404
    assert_error(sam.post("/api/consents", json=CONSENT), 404)
    _work_for_child_5(sam)
    assert sam.post("/api/consents", json=CONSENT).status_code == 201


def test_a_consent_is_recorded_listed_and_withdrawn_but_never_removed(people):
    pat = people["pat"]
    made = pat.post("/api/consents", json=CONSENT)
    assert made.status_code == 201, made.get_json()
    consent = made.get_json()
    assert consent["in_force"] and consent["recorded_by"] == "pat"
    listed = pat.get("/api/consents", query_string={"child": "child-5"}).get_json()
    assert listed["status"] == "given" and [c["id"] for c in listed["items"]] == [consent["id"]]

    assert_error(pat.post(f"/api/consents/{consent['id']}/withdraw", json={}), 422)
    gone = pat.post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "Mother called"})
    assert gone.status_code == 200 and gone.get_json()["withdrawn_by"] == "pat"
    again = pat.post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "again"})
    assert_error(again, 409)
    listed = pat.get("/api/consents", query_string={"child": "child-5"}).get_json()
    assert listed["status"] == "withdrawn" and len(listed["items"]) == 1


def test_an_outsider_cannot_read_or_withdraw_a_childs_consents(people):
    consent = people["pat"].post("/api/consents", json=CONSENT).get_json()
    hugo = people["hugo"]
    assert_error(hugo.get("/api/consents", query_string={"child": "child-5"}), 404)
    assert_error(hugo.post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "x"}), 404)


@pytest.mark.parametrize(
    ("field", "value"), [("how", "telepathy"), ("agencies", []), ("purposes", ["x" * 300])]
)
def test_bad_consent_fields_are_422_naming_the_field(people, field, value):
    response = people["pat"].post("/api/consents", json={**CONSENT, field: value})
    assert field in [d["field"] for d in assert_error(response, 422)["details"]]


def test_a_withdrawal_is_told_to_the_childs_running_early_help(client, people):
    deployed = client.post(
        "/api/process-definitions",
        data=(BPMN / "early_help_caf.bpmn").read_bytes(),
        headers={"Content-Type": "application/xml"},
    )
    assert deployed.status_code == 201, deployed.get_json()
    started = (
        people["pat"]
        .post(
            "/api/process-instances",
            json={"process_key": "early_help_caf", "business_key": "child-5"},
        )
        .get_json()
    )
    consent = people["pat"].post("/api/consents", json=CONSENT).get_json()
    before = people["pat"].get(f"/api/process-instances/{started['id']}").get_json()
    people["pat"].post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "Changed mind"})
    after = people["pat"].get(f"/api/process-instances/{started['id']}").get_json()
    assert after["version"] > before["version"]  # the instance received the message
