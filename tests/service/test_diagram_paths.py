"""One path of each shipped diagram through the real service: the register rows are written and
the hand-off instances started, in the database (the path tables are in tests/diagrams)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.context import services
from storage import UnitOfWork
from storage.models import ProcessInstance, SharingRecord, Task
from tests.diagrams import test_early_help_caf as early_help
from tests.diagrams import test_escalation as escalation
from tests.diagrams import test_information_sharing as information_sharing
from tests.diagrams import test_referral as referral
from tests.diagrams.walking import BPMN, Do, Path
from tests.support.helpers import deploy_xml, open_task_id

# Who does each role's steps: the school's practitioner (who starts every case), her manager
# and DSL, and the front door of children's social care.
TEAM = {
    "practitioner": ("pat", "school", "maya"),
    "manager": ("maya", "school", None),
    "dsl": ("dora", "school", None),
    "csc": ("colin", "childrens_social_care", None),
    "csc_manager": ("cara", "childrens_social_care", None),
}


@pytest.fixture
def team(client, client_for) -> dict:
    for name in ("information_sharing", "early_help_caf", "referral", "escalation"):
        response = deploy_xml(client, (BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
        assert response.status_code == 201, response.get_json()
    people = {}
    for role in ("manager", "practitioner", "dsl", "csc", "csc_manager"):
        name, agency, manager = TEAM[role]
        people[role] = client_for(name, [role], agency=agency, manager=manager)
    return people


@pytest.fixture
def pat(team):
    return team["practitioner"]


def _doer(app, team: dict, task_id: str):
    """Whoever holds the step, or the first of the team whose role may take it."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        task = uow.session.get(Task, task_id)
        holder, roles = task.assignee, list(task.candidate_roles or ())
    if holder:
        [role] = [r for r, (name, _, _) in TEAM.items() if name == holder]
        return team[role]
    return team[next(r for r in TEAM if r in roles)]


def _answers_as_read(client, instance_id: str, answer: dict) -> None:
    """A command's answer is built before its commit from what the step did (issue 16): it must
    be what a read of the instance gives right after, wherever the path goes (parallel tasks,
    hand-offs, the end)."""
    read = client.get(f"/api/process-instances/{instance_id}")
    assert read.status_code == 200, read.get_json()
    assert answer == read.get_json()


def _do(app, team: dict, instance_id: str, step: Do) -> None:
    task_id = open_task_id(app, instance_id, step.element_id)
    doer = _doer(app, team, task_id)
    done = doer.post(f"/api/tasks/{task_id}/complete", json={"data": step.data})
    assert done.status_code == 200, (step.element_id, done.get_json())
    _answers_as_read(doer, instance_id, done.get_json())


def _walk(app, team, key: str, path: Path, business_key: str) -> str:
    """Start as the practitioner; each step is done by whoever holds it or may take it."""
    pat = team["practitioner"]
    started = pat.post(
        "/api/process-instances", json={"process_key": key, "business_key": business_key}
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    _answers_as_read(pat, instance_id, started.get_json())
    for step in path.steps:
        assert isinstance(step, Do), "timers and messages are walked in tests/diagrams"
        _do(app, team, instance_id, step)
    body = pat.get(f"/api/process-instances/{instance_id}").get_json()
    assert body["state"] == "completed"
    return instance_id


def _rows(app, model, **where) -> list:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        query = select(model).filter_by(**where)
        rows = list(uow.session.scalars(query))
        uow.session.expunge_all()
        return rows


def _started(app, business_key: str) -> list[str]:
    rows = _rows(app, ProcessInstance, business_key=business_key)
    return sorted(r.process_key for r in rows)


def test_information_sharing_after_a_withdrawn_consent(app, team):
    colin = team["csc"]  # the front door keeps the partnership's consent register
    consent = colin.post(
        "/api/consents",
        json={
            "child": "child-1",
            "person": "mother",
            "agencies": ["health"],
            "purposes": ["health support"],
            "how": "written",
        },
    ).get_json()
    colin.post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "Changed her mind"})
    path = information_sharing.path_named("consent withdrawn on record, significant harm")
    instance_id = _walk(app, team, "information_sharing", path, "child-1")
    row, told = _rows(app, SharingRecord, instance_id=instance_id)
    assert (row.decision, row.with_consent, row.consent_status) == ("share", False, "withdrawn")
    assert (told.follows, told.subject_informed) == (row.id, True)
    assert "DPA 2018" in row.lawful_basis and row.business_key == "child-1"
    assert _started(app, "child-1") == ["information_sharing", "referral"]


def test_a_consent_withdrawn_while_the_decision_runs_counts_at_the_check(app, team, pat):
    """Given when the decision starts, withdrawn after the first answer: the register check
    sees the withdrawal, so consent is not sought again and the share is without consent."""
    colin = team["csc"]
    consent = colin.post(
        "/api/consents",
        json={"child": "child-9", "person": "father", "agencies": ["health"]}
        | {"purposes": ["health support"], "how": "verbal"},
    ).get_json()
    started = pat.post(
        "/api/process-instances",
        json={"process_key": "information_sharing", "business_key": "child-9"},
    ).get_json()
    assert started["variables"]["consent_on_record"] == "given"
    path = information_sharing.path_named("consent withdrawn on record, significant harm")
    for number, step in enumerate(path.steps):
        if number == 1:
            withdrawn = colin.post(
                f"/api/consents/{consent['id']}/withdraw", json={"reason": "Changed his mind"}
            )
            assert withdrawn.status_code == 200, withdrawn.get_json()
        _do(app, team, started["id"], step)
    [row] = _rows(app, SharingRecord, instance_id=started["id"], follows=None)
    assert (row.decision, row.with_consent, row.consent_status) == ("share", False, "withdrawn")
    # the answers kept for each step are the person's, not the service's
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        kept = uow.session.scalars(select(Task.data).where(Task.instance_id == started["id"]))
        assert not any("consent_on_record" in (data or {}) for data in kept)


def test_early_help_share_without_consent_is_registered(app, team):
    instance_id = _walk(app, team, "early_help_caf", early_help.PATHS[3], "child-2")
    share, told = _rows(app, SharingRecord, instance_id=instance_id)
    assert (share.decision, share.with_consent, share.consent_status) == ("share", False, "refused")
    assert share.lawful_basis == early_help.DPA  # as the manager gave it
    assert share.reasons == early_help.INJURIES
    assert share.recipients == [{"agency": "health"}]
    assert (told.subject_informed, told.decided_by) == (True, "pat")


def test_early_help_step_up_starts_a_referral(app, team):
    instance_id = _walk(app, team, "early_help_caf", early_help.PATHS[6], "child-3")
    assert _started(app, "child-3") == ["early_help_caf", "referral"]
    share, _told = _rows(app, SharingRecord, instance_id=instance_id)
    assert (share.decision, share.with_consent, share.consent_status) == (
        "share",
        False,
        "not_obtained",
    )
    assert share.recipients == [{"agency": "childrens_social_care"}]


def test_a_challenged_referral_starts_an_escalation_and_early_help(app, team):
    # Its steps up to the escalation's reply (which only the escalation sends: test_replies).
    path = next(p for p in referral.PATHS if p.id.startswith("challenge not upheld"))
    steps = [step for step in path.steps if isinstance(step, Do)]
    started = team["practitioner"].post(
        "/api/process-instances", json={"process_key": "referral", "business_key": "child-4"}
    )
    for step in steps:
        _do(app, team, started.get_json()["id"], step)
    assert _started(app, "child-4") == ["early_help_caf", "escalation", "referral"]
    [entry] = _rows(app, SharingRecord, instance_id=started.get_json()["id"])
    assert (entry.decision, entry.recipients) == ("share", [{"agency": "childrens_social_care"}])


def test_an_escalation_with_immediate_risk_starts_a_referral(app, team):
    _walk(app, team, "escalation", escalation.PATHS[1], "child-5")
    assert _started(app, "child-5") == ["escalation", "referral"]


def test_early_help_consent_is_registered_and_a_withdrawal_respected_stops_the_plan(app, team, pat):
    steps = early_help.PATHS[0].steps[:3]  # explained, consent given, assessment done
    started = pat.post(
        "/api/process-instances", json={"process_key": "early_help_caf", "business_key": "child-6"}
    ).get_json()
    for step in steps:
        _do(app, team, started["id"], step)
    [consent] = pat.get("/api/consents", query_string={"child": "child-6"}).get_json()["items"]
    assert (consent["person"], consent["how"]) == ("mother", "written")
    assert consent["agencies"] == ["school", "health"]
    assert consent["purposes"] == ["early help assessment"]
    assert consent["recorded_by"] == "pat"

    withdrawn = pat.post(f"/api/consents/{consent['id']}/withdraw", json={"reason": "Moved away"})
    assert withdrawn.status_code == 200, withdrawn.get_json()
    # the manager weighs the withdrawal before the plan stops
    body = pat.get(f"/api/process-instances/{started['id']}").get_json()
    assert body["state"] == "running"
    assert [t["element_id"] for t in body["active_tasks"]] == ["withdrawal_check"]
    respect = Do(
        "withdrawal_check",
        {"proportionality_decision": "respect_withdrawal", "justification": "No concern"},
    )
    _do(app, team, started["id"], respect)
    body = pat.get(f"/api/process-instances/{started['id']}").get_json()
    assert body["state"] == "completed" and body["active_tasks"] == []
    [row] = _rows(app, SharingRecord, instance_id=started["id"])
    assert (row.decision, row.consent_status) == ("not_share", "withdrawn")
    assert row.reasons.startswith("Consent withdrawn (Moved away)")
    # a later decision for the child reads the withdrawal; a later early help runs to its end
    later = pat.post(
        "/api/process-instances",
        json={"process_key": "information_sharing", "business_key": "child-6"},
    ).get_json()
    assert later["variables"]["consent_on_record"] == "withdrawn"
    _walk(app, team, "early_help_caf", early_help.PATHS[4], "child-7")
