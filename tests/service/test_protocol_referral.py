"""A referral through the HTTP API, as the revised protocol says (issue 15, points 7, 10, 11):
the referral is a register entry, a safeguarding referral is refused anything but a strategy
discussion, and a challenge starts an escalation with the challenger's words, its first step
the challenger's, while the referral waits for the outcome (upheld: decided again)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from service.config import Config
from service.context import services
from storage.models import ProcessInstance
from storage.uow import UnitOfWork
from tasks import effects
from tests.support.helpers import deploy_xml
from workflows.events import Advance, InstanceFacts, ThrownMessage

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
NEGLECT = {
    "concerns": "No food at home; missed school three days this week",
    "threshold_level": "child_in_need",
    "family_aware": True,
    "consent_given": True,
}
HARM = {
    "concerns": "Unexplained bruising to a 4-year-old's face and arms",
    "threshold_level": "child_protection",
    "significant_harm": True,
    "family_aware": False,
    "not_informed_reason": "Telling the parents first could put the child at risk",
}
REASON = "Three missed school days and no food: the risk is higher than rated"


@pytest.fixture
def people(client, client_for) -> dict:
    for name in ("referral", "escalation"):
        response = deploy_xml(client, (BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
        assert response.status_code == 201, response.get_json()
    return {
        "pat": client_for("pat", ["practitioner"], agency="school"),
        "colin": client_for("colin", ["csc"], agency="childrens_social_care"),
    }


def do(who, instance: dict, element_id: str, data: dict):
    [task] = [t for t in instance["active_tasks"] if t["element_id"] == element_id]
    return who.post(f"/api/tasks/{task['id']}/complete", json={"data": data})


def done(who, instance: dict, element_id: str, data: dict) -> dict:
    response = do(who, instance, element_id, data)
    assert response.status_code == 200, (element_id, response.get_json())
    return who.get(f"/api/process-instances/{instance['id']}").get_json()


def referred(pat, business_key: str, referral: dict) -> dict:
    started = pat.post(
        "/api/process-instances", json={"process_key": "referral", "business_key": business_key}
    ).get_json()
    return done(pat, started, "make_referral", referral)


def decided(colin, referral: dict, response: str) -> dict:
    answers = {"mash_rating": "green", "response": response, "reasons": "Universal services"}
    return done(colin, referral, "decide_response", answers)


def started_from(app, instance_id: str) -> list[ProcessInstance]:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        query = select(ProcessInstance).where(ProcessInstance.started_from == instance_id)
        rows = list(uow.session.scalars(query))
        uow.session.expunge_all()
        return rows


def reply_from(app, escalation_id: str, outcome: dict) -> None:
    """The escalation's reply as the service delivers it when the escalation throws it, without
    working the escalation's stages (the first test works them through the API)."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.get(ProcessInstance, escalation_id)
        thrown = Advance(
            instance=InstanceFacts.of(row),
            messages=(ThrownMessage("escalation_outcome", outcome),),
        )
        engine, now = services().engine, services().clock.now()
        for reply in effects.deliver_replies(uow, engine, thrown, Config.MESSAGE_REPLIES):
            effects.after_advance(uow, reply, now)
        uow.commit()


def test_a_challenge_starts_the_escalation_and_the_referral_waits_for_it(app, people):
    pat, colin = people["pat"], people["colin"]
    referral = referred(pat, "child-21", NEGLECT)
    referral = decided(colin, referral, "no_further_action")
    referral = done(colin, referral, "feedback_to_referrer", {"feedback": "Signposted"})
    challenge = {
        "referrer_response": "challenge",
        "challenge_reason": REASON,
        "wanted_outcome": "A child and family assessment",
    }
    referral = done(pat, referral, "accept_or_challenge", challenge)
    assert referral["state"] == "running" and referral["active_tasks"] == []  # waiting

    [escalation] = started_from(app, referral["id"])
    assert (escalation.process_key, escalation.business_key) == ("escalation", "child-21")
    assert escalation.started_by == "pat"  # the challenger: the escalation's initiator
    body = pat.get(f"/api/process-instances/{escalation.id}").get_json()
    assert body["variables"]["disputed"] == REASON
    assert body["variables"]["other_agency"] == "childrens_social_care"
    assert body["variables"]["wanted_outcome"] == "A child and family assessment"
    [first] = body["active_tasks"]
    assert first["element_id"] == "describe_disagreement"
    assert first["assignee"] == "pat"  # its first step is the challenger's

    # The referral is in the sharing register: a share with children's social care.
    [entry] = pat.get("/api/sharing-records", query_string={"child": "child-21"}).get_json()[
        "items"
    ]
    assert entry["decision"] == "share" and entry["with_consent"] is True
    assert [r["agency"] for r in entry["recipients"]] == ["childrens_social_care"]
    assert entry["information_shared"] == NEGLECT["concerns"]
    assert entry["purpose"] == "Referral to children's social care: child in need"
    assert entry["subject_informed"] is True

    # A caller cannot answer for the escalation.
    refused = pat.post(
        f"/api/process-instances/{referral['id']}/messages",
        json={"name": "escalation_outcome", "payload": {"upheld": True}},
    )
    assert refused.status_code == 422

    # The escalation, as the challenger and children's social care work it: stage 1 upheld.
    form = ("other_agency", "disputed", "wanted_outcome")
    described = {name: body["variables"][name] for name in form} | {"immediate_risk": False}
    body = done(pat, body, "describe_disagreement", described)
    [stage1] = body["active_tasks"]
    assert stage1["element_id"] == "resolve_stage1"
    assert pat.post(f"/api/tasks/{stage1['id']}/claim").status_code == 200
    upheld = {"resolved": True, "resolution": "Assess", "challenge_upheld": True}
    assert done(pat, body, "resolve_stage1", upheld)["state"] == "completed"
    referral = colin.get(f"/api/process-instances/{referral['id']}").get_json()
    assert [t["element_id"] for t in referral["active_tasks"]] == ["decide_response"]
    assert referral["variables"]["escalation_outcome"]["upheld"] is True
    referral = decided(colin, referral, "assessment")
    assert "complete_assessment" in {t["element_id"] for t in referral["active_tasks"]}


def test_a_challenge_not_upheld_ends_the_referral_as_decided(app, people):
    pat, colin = people["pat"], people["colin"]
    referral = decided(colin, referred(pat, "child-22", NEGLECT), "no_further_action")
    referral = done(colin, referral, "feedback_to_referrer", {"feedback": "Signposted"})
    challenge = {"referrer_response": "challenge", "challenge_reason": REASON}
    challenge["wanted_outcome"] = "An assessment"
    referral = done(pat, referral, "accept_or_challenge", challenge)
    [escalation] = started_from(app, referral["id"])
    reply_from(app, escalation.id, {"upheld": False, "resolution": "Threshold not met", "stage": 2})
    assert pat.get(f"/api/process-instances/{referral['id']}").get_json()["state"] == "completed"


def test_significant_harm_is_refused_anything_but_a_strategy_discussion(app, people):
    pat, colin = people["pat"], people["colin"]
    referral = referred(pat, "child-23", HARM)
    assert {t["element_id"] for t in referral["active_tasks"]} == {
        "decide_response",
        "notify_police_cse",  # the police are told
    }
    answers = {"mash_rating": "amber", "response": "no_further_action", "reasons": "Explained"}
    response = do(colin, referral, "decide_response", answers)
    assert response.status_code == 422
    [problem] = response.get_json()["error"]["details"]
    assert problem["field"] == "response"
    assert "strategy discussion with the police" in problem["message"]
    answers["response"] = "strategy_discussion"
    assert do(colin, referral, "decide_response", answers).status_code == 200
    [entry] = pat.get("/api/sharing-records", query_string={"child": "child-23"}).get_json()[
        "items"
    ]
    assert (entry["with_consent"], entry["subject_informed"]) == (False, False)
    assert entry["lawful_basis"].startswith("UK GDPR Art. 6(1)(e)")
    assert entry["not_informed_reason"] == HARM["not_informed_reason"]
