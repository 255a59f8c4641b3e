"""Early help with consent, played through the API (issue 15, points 12 and 16): a refusal
weighed by the practitioner's line manager, the share without consent in the register as the
data protection officer reads it, the family told by the practitioner, and a step up at an open
step starting a referral."""

from __future__ import annotations

import pytest

from tests.diagrams.walking import BPMN
from tests.support.helpers import (
    assert_error,
    auditor_client,
    casework_people,
    deploy_xml,
    open_task_id,
)

CHILD = "child-1"
PEOPLE = {
    "maya": (["manager"], "school", None),
    "pat": (["practitioner"], "school", "maya"),
}
DPA = "UK GDPR Art. 6(1)(e); Art. 9(2)(g) with DPA 2018 Sch. 1 para 18"
SHARE = {
    "proportionality_decision": "share_without_consent",
    "justification": "Repeated unexplained bruising: health must see the school's records",
    "recipient_agency": "health",
    "information_shared": "Attendance and injury log, autumn term",
    "lawful_basis": DPA,
}


@pytest.fixture
def people(client, client_for) -> dict:
    for name in ("information_sharing", "early_help_caf", "referral", "escalation"):
        response = deploy_xml(client, (BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
        assert response.status_code == 201, response.get_json()
    return casework_people(client, client_for, PEOPLE)


def _complete(app, who, instance_id: str, element_id: str, data: dict):
    task_id = open_task_id(app, instance_id, element_id)
    return who.post(f"/api/tasks/{task_id}/complete", json={"data": data})


def _task_ids(who, view: str) -> dict[str, str]:
    items = who.get(f"/api/tasks?view={view}").get_json()["items"]
    return {item["element_id"]: item["assignee"] for item in items}


def test_a_refusal_shared_without_consent_is_registered_told_and_stepped_up(app, people):
    pat, maya = people["pat"], people["maya"]
    started = pat.post(
        "/api/process-instances", json={"process_key": "early_help_caf", "business_key": CHILD}
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    explained = {"explained": True, "explained_on": "2026-03-02"}
    for element_id, data in [
        ("explain_sharing", explained),
        ("seek_consent", {"consent_outcome": "refused"}),
    ]:
        done = _complete(app, pat, instance_id, element_id, data)
        assert done.status_code == 200, done.get_json()

    # pat's line manager weighs the refusal; sharing without consent needs its lawful basis
    assert "proportionality_check" in _task_ids(maya, "candidate")
    without_basis = {k: v for k, v in SHARE.items() if k != "lawful_basis"}
    refused = _complete(app, maya, instance_id, "proportionality_check", without_basis)
    assert "lawful_basis" in [d["field"] for d in assert_error(refused, 422)["details"]]
    done = _complete(app, maya, instance_id, "proportionality_check", SHARE)
    assert done.status_code == 200, done.get_json()

    # the data protection officer reads the share in the register, as the manager gave it
    auditor = auditor_client(app)
    [entry] = auditor.get(f"/api/sharing-records?child={CHILD}").get_json()["items"]
    assert (entry["decision"], entry["with_consent"], entry["consent_status"]) == (
        "share",
        False,
        "refused",
    )
    assert entry["recipients"] == [{"agency": "health"}]
    assert entry["information_shared"] == SHARE["information_shared"]
    assert entry["lawful_basis"] == DPA
    assert entry["reasons"] == SHARE["justification"]
    assert entry["purpose"] == "Safeguarding the child: consent to early help refused"
    assert entry["decided_by"] == "maya"

    # telling the family is pat's
    assert _task_ids(pat, "mine") == {"inform_family": "pat"}

    # a step up at this open step starts a referral for the child, recorded in the register
    stepped = pat.post(
        f"/api/process-instances/{instance_id}/messages",
        json={"name": "step_up", "payload": {"reason": "Police report of domestic abuse"}},
    )
    assert stepped.status_code == 200, stepped.get_json()
    keys = pat.get(f"/api/process-instances?business_key={CHILD}").get_json()["items"]
    assert sorted(i["process_key"] for i in keys) == ["early_help_caf", "referral"]
    entries = auditor.get(f"/api/sharing-records?child={CHILD}").get_json()["items"]
    step_up = next(e for e in entries if e["id"] != entry["id"])
    assert step_up["recipients"] == [{"agency": "childrens_social_care"}]
    assert (step_up["with_consent"], step_up["reasons"]) == (
        False,
        "Police report of domestic abuse",
    )
    # without consent, the family is told of the referral too (unless unsafe)
    assert _task_ids(pat, "mine").get("inform_family_step_up") == "pat"


def test_a_step_up_without_a_reason_is_refused_naming_it(app, people):
    pat = people["pat"]
    instance_id = pat.post(
        "/api/process-instances", json={"process_key": "early_help_caf", "business_key": CHILD}
    ).get_json()["id"]
    response = pat.post(
        f"/api/process-instances/{instance_id}/messages", json={"name": "step_up", "payload": {}}
    )
    assert "reasons" in [d["field"] for d in assert_error(response, 422)["details"]]
    keys = pat.get(f"/api/process-instances?business_key={CHILD}").get_json()["items"]
    assert [i["process_key"] for i in keys] == ["early_help_caf"]  # nothing kept
