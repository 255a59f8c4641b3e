"""Automatic hand-offs: a significant-harm decision starts a referral nobody can skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.diagrams import answers_information_sharing
from tests.support.helpers import assert_error, make_user, token_client

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
DESCRIBE = {
    "information": "Bruises seen on the child's arms",
    "recipient_agency": "childrens_social_care",
    "purpose": "Protect the child",
    "legitimate_purpose": "yes",
    "identifies_living_person": True,
    "confidential": True,
}
HARM = {
    **answers_information_sharing.HARM,
    "consent_unsafe": True,
    "consent_unsafe_reason": "Telling the parents could put the child at risk",
}


def _deploy(client, *names):
    for name in names:
        response = client.post(
            "/api/process-definitions",
            data=(BPMN / f"{name}.bpmn").read_bytes(),
            headers={"Content-Type": "application/xml"},
        )
        assert response.status_code in (200, 201), response.get_json()


@pytest.fixture
def pat(app):
    make_user(app, "pat", ["practitioner"], agency="school")
    return token_client(app, "pat")


def _to_safeguarding_check(pat) -> dict:
    started = pat.post(
        "/api/process-instances",
        json={"process_key": "information_sharing", "business_key": "child-42"},
    ).get_json()
    [task] = started["active_tasks"]
    done = pat.post(f"/api/tasks/{task['id']}/complete", json={"data": DESCRIBE})
    assert done.status_code == 200, done.get_json()
    [check] = done.get_json()["active_tasks"]
    assert check["element_id"] == "safeguarding_check"
    return check


def test_significant_harm_starts_a_referral_for_the_same_child(client, pat):
    _deploy(client, "information_sharing", "referral")
    check = _to_safeguarding_check(pat)
    response = pat.post(f"/api/tasks/{check['id']}/complete", json={"data": HARM})
    assert response.status_code == 200, response.get_json()
    referrals = pat.get(
        "/api/process-instances", query_string={"process_key": "referral"}
    ).get_json()["items"]
    assert [(r["business_key"], r["started_by"]) for r in referrals] == [("child-42", "pat")]
    mine = pat.get("/api/tasks", query_string={"view": "mine"}).get_json()["items"]
    [make] = [t for t in mine if t["element_id"] == "make_referral"]
    task = pat.get(f"/api/tasks/{make['id']}").get_json()
    assert task["assignee"] == "pat"
    assert task["data"].get("concerns") == DESCRIBE["information"]  # prefilled


def test_without_the_referral_process_the_step_fails_rather_than_skip_it(client, pat):
    _deploy(client, "information_sharing")
    check = _to_safeguarding_check(pat)
    response = pat.post(f"/api/tasks/{check['id']}/complete", json={"data": HARM})
    assert "not deployed" in assert_error(response, 409, "conflict")["message"]
    # Nothing moved on: the safeguarding check is still waiting.
    again = pat.get(f"/api/tasks/{check['id']}").get_json()
    assert again["status"] == "open"


def test_the_referrer_gets_the_accept_or_challenge_step(app, client, pat):
    _deploy(client, "referral")
    make_user(app, "colin", ["csc"], agency="childrens_social_care")
    colin = token_client(app, "colin")
    started = pat.post(
        "/api/process-instances", json={"process_key": "referral", "business_key": "child-8"}
    ).get_json()
    [make] = started["active_tasks"]
    assert make["assignee"] == "pat"
    referral = {
        "concerns": "Unexplained injuries",
        "threshold_level": "child_protection",
        "family_aware": False,
        "not_informed_reason": "Telling the parents could put the child at risk",
    }
    steps = [
        (pat, "make_referral", referral),
        (
            colin,
            "decide_response",
            {"mash_rating": "amber", "response": "assessment", "reasons": "Needs assessment"},
        ),
        (colin, "feedback_to_referrer", {"feedback": "An assessment will start"}),
    ]
    instance = started
    for who, element_id, data in steps:
        [task] = [t for t in instance["active_tasks"] if t["element_id"] == element_id]
        response = who.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
        assert response.status_code == 200, (element_id, response.get_json())
        instance = response.get_json()
    [accept] = [t for t in instance["active_tasks"] if t["element_id"] == "accept_or_challenge"]
    assert accept["assignee"] == "pat"


def test_a_hand_off_shows_the_receiving_side_the_instance_it_came_from_and_nothing_else(
    app, client, pat
):
    """The MASH worker who takes the referral sees the decision that led to it (started_from),
    but not the child's other processes, and gets nothing further back from the referral."""
    _deploy(client, "information_sharing", "referral")
    make_user(app, "colin", ["csc"], agency="childrens_social_care")
    colin = token_client(app, "colin")
    other = pat.post(
        "/api/process-instances",
        json={"process_key": "information_sharing", "business_key": "child-42"},
    ).get_json()
    check = _to_safeguarding_check(pat)
    decision_id = pat.get(f"/api/tasks/{check['id']}").get_json()["instance_id"]
    assert pat.post(f"/api/tasks/{check['id']}/complete", json={"data": HARM}).status_code == 200
    [referral] = pat.get(
        "/api/process-instances", query_string={"process_key": "referral"}
    ).get_json()["items"]
    # The referral's first step is the referrer's: the front door has nothing to take yet.
    assert colin.get(f"/api/process-instances/{referral['id']}").status_code == 404
    assert colin.get(f"/api/process-instances/{decision_id}").status_code == 404
    [make] = pat.get(f"/api/process-instances/{referral['id']}").get_json()["active_tasks"]
    done = pat.post(
        f"/api/tasks/{make['id']}/complete",
        json={
            "data": {
                "concerns": "Bruises",
                "threshold_level": "child_protection",
                "family_aware": False,
                "not_informed_reason": "Telling the parents could put the child at risk",
            }
        },
    )
    assert done.status_code == 200, done.get_json()
    # Now it waits for the front door: colin sees it, and the decision it came from.
    assert colin.get(f"/api/process-instances/{referral['id']}").status_code == 200
    assert colin.get(f"/api/process-instances/{decision_id}").status_code == 200
    decision_tasks = colin.get(f"/api/process-instances/{decision_id}/history")
    assert decision_tasks.status_code == 200
    # ... and nothing else of the child's.
    assert colin.get(f"/api/process-instances/{other['id']}").status_code == 404
    seen = {i["id"] for i in colin.get("/api/process-instances").get_json()["items"]}
    assert seen == {referral["id"], decision_id}
