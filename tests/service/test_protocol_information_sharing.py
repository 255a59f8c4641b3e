"""Issue 15 through the HTTP API: a 14-year-old at risk of sexual exploitation.

The practitioner describes the request and answers the safeguarding questions; a designated
safeguarding lead of the same school assesses the sexual activity (protocol 4.2) and decides to
share and refer. What a register reader and the referrer then see: the decision with the
practitioner's own lawful basis, the DSL's reasons, the telling entry linked to the decision
(``follows``), and a referral started for the same child with the partner details.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from service.context import services
from storage import UnitOfWork
from storage.models import ProcessInstance, Task
from tests.support.helpers import assert_error, auditor_client, deploy_xml, open_task_id

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
CHILD = "child-cse-14"
REQUEST = {
    "information": "Year 9 pupil seen getting into a car with older men after school",
    "recipient_agency": "childrens_social_care",
    "recipient_person": "MASH duty social worker",
    "purpose": "Protect her from sexual exploitation",
    "urgent": True,
    "legitimate_purpose": "yes",
    "identifies_living_person": True,
    "confidential": True,
}
PARTNER = "Man known as 'Tee', about 25, drives a black Audi, meets her after school"
CHECK = {
    "significant_harm": False,
    "prevent_serious_crime": True,
    "cse_concern": True,
    "child_age": 14,
    "sexual_activity": True,
    "partner_details": PARTNER,
    "consent_unsafe": True,
    "consent_unsafe_reason": "Telling the family now would alert the men involved",
    "in_doubt": False,
}
ASSESSMENT = {
    "age_or_power_imbalance": True,
    "coercion": True,
    "exploitation_signs": True,
    "partner_in_position_of_trust": False,
    "assessment_outcome": "share_and_refer",
    "reasons": "Partner about 25; gifts and lifts; she goes missing after school",
}
BASIS = "UK GDPR Art. 6(1)(e) and Art. 9(2)(g); DPA 2018 Sch. 1 para 18"
SHARE = {
    "information_shared": "Sightings, dates, the car and what she has said",
    "method": "secure_portal",
    "necessary_and_proportionate": True,
    "lawful_basis": BASIS,
    "partner_details": PARTNER,
}


@pytest.fixture
def people(client, client_for):
    for name in ("information_sharing", "referral"):
        content = (BPMN / f"{name}.bpmn").read_bytes()
        response = deploy_xml(client, content, filename=f"{name}.bpmn")
        assert response.status_code == 201, response.get_json()
    return {
        "pat": client_for("pat", ["practitioner"], agency="school"),
        "dana": client_for("dana", ["dsl"], agency="school"),
    }


def _complete(app, who, instance_id: str, element_id: str, data: dict):
    task_id = open_task_id(app, instance_id, element_id)
    return who.post(f"/api/tasks/{task_id}/complete", json={"data": data})


def _do(app, who, instance_id: str, element_id: str, data: dict) -> dict:
    response = _complete(app, who, instance_id, element_id, data)
    assert response.status_code == 200, (element_id, response.get_json())
    return response.get_json()


def test_a_14_year_old_at_risk_of_exploitation(app, people):
    pat, dana = people["pat"], people["dana"]
    started = pat.post(
        "/api/process-instances",
        json={"process_key": "information_sharing", "business_key": CHILD},
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    _do(app, pat, instance_id, "describe_request", REQUEST)
    # a child's age is 0-17: anything else is refused, naming the field
    refused = _complete(app, pat, instance_id, "safeguarding_check", {**CHECK, "child_age": 19})
    assert [d["field"] for d in assert_error(refused, 422)["details"]] == ["child_age"]
    _do(app, pat, instance_id, "safeguarding_check", CHECK)

    # 13-15 with sexual activity: the school's DSL assesses it; the practitioner cannot
    assert _complete(app, pat, instance_id, "assess_sexual_activity", ASSESSMENT).status_code in (
        403,
        404,
    )
    nfa = {**ASSESSMENT, "assessment_outcome": "no_further_action"}
    refused = _complete(app, dana, instance_id, "assess_sexual_activity", nfa)
    assert [d["field"] for d in assert_error(refused, 422)["details"]] == ["assessment_outcome"]
    _do(app, dana, instance_id, "assess_sexual_activity", ASSESSMENT)

    # share and refer: a referral for the same child, started from this decision
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        referral = uow.session.scalars(
            select(ProcessInstance).where(ProcessInstance.started_from == instance_id)
        ).one()
        make_referral = uow.session.scalars(
            select(Task).where(Task.instance_id == referral.id, Task.element_id == "make_referral")
        ).one()
        assert referral.process_key == "referral"
        assert referral.business_key == CHILD
        # The DSL decided to refer, but the referral is the practitioner's: it arrives
        # prefilled and assigned to the same practitioner (processes.md, data dictionary).
        assert referral.started_by == "pat"
        assert make_referral.assignee == "pat"
        assert make_referral.status == "open"

    _do(app, pat, instance_id, "share_information", SHARE)
    _do(
        app,
        pat,
        instance_id,
        "inform_family",
        {"subject_informed": False, "not_informed_reason": "It would alert the men involved"},
    )

    register = auditor_client(app).get(f"/api/sharing-records?child={CHILD}")
    assert register.status_code == 200, register.get_json()
    decision, told = register.get_json()["items"]
    assert decision["instance_id"] == instance_id
    assert decision["decision"] == "share" and decision["with_consent"] is False
    assert decision["lawful_basis"] == BASIS  # as the practitioner gave it
    assert decision["consent_status"] == "not_sought"
    assert "DSL assessment of the sexual activity (share and refer)" in decision["reasons"]
    assert ASSESSMENT["reasons"] in decision["reasons"]
    assert decision["follows"] is None
    assert decision["subject_informed"] is None  # the decision's entry is never changed
    assert told["follows"] == decision["id"]
    assert told["subject_informed"] is False
    assert told["not_informed_reason"] == "It would alert the men involved"
    assert told["decided_by"] == "pat"
    for entry in (decision, told):
        assert PARTNER not in str(entry)  # partner details stay with the steps, not the register
    verify = auditor_client(app).get("/api/sharing-records/verify")
    assert verify.get_json()["ok"] is True

    # the case page shows the telling entry under the decision it adds to
    page = pat.get(f"/cases/{CHILD}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="entry-{told["id"]}" class="linked"' in html
    assert f"adds to #{decision['id']}" in html
    assert html.index(f'id="entry-{decision["id"]}"') < html.index(f'id="entry-{told["id"]}"')
