"""Issue 15, points 17-19: both agencies take part in resolving a professional disagreement.

Through the HTTP API on both databases: a school practitioner raises a disagreement with
health; health's practitioner takes stage 1 (the police see nothing of it); the stage timer
moves it to stage 2, which both agencies' managers find in their inbox (the API and the page
list the same items); stage 3 ends with a written notice the board is copied on; the outcome
reaches the raiser and the other agency.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.scheduling import start_scheduler
from tests.support.helpers import deploy_xml, make_user, token_client

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
CHILD = "C-2041"
DISAGREEMENT = {
    "other_agency": "health",
    "other_professional": "Health visitor, Eastgate team",
    "disputed": "Health will not attend the strategy discussion about the bruising",
    "wanted_outcome": "Health attends and shares the growth records",
    "immediate_risk": False,
}
PEOPLE = {  # name: roles, agency, manager
    "maya": (["manager"], "school", None),
    "sara": (["practitioner"], "school", "maya"),
    "dina": (["dsl"], "school", None),
    "hana": (["manager"], "health", None),
    "hugh": (["practitioner"], "health", "hana"),
    "dev": (["dsl"], "health", None),
    "pete": (["practitioner"], "police", None),
    "polly": (["manager"], "police", None),
    "bea": (["board"], "partnership", None),
}


@pytest.fixture
def people(clocked_app):
    """Signed-in clients of the app on the test's clock (the stage timers read it)."""
    make_user(clocked_app, "ada", ["admin", "process_owner"], agency="partnership")
    admin = token_client(clocked_app, "ada")
    for name in ("escalation", "information_sharing", "referral"):
        body = (BPMN / f"{name}.bpmn").read_bytes()
        assert deploy_xml(admin, body, f"{name}.bpmn").status_code == 201
    clients = {}
    for name, (roles, agency, manager) in PEOPLE.items():
        make_user(clocked_app, name, roles, agency=agency, manager=manager)
        clients[name] = token_client(clocked_app, name)
    return clients


def _raise(people) -> tuple[str, dict]:
    """sara (school) raises a disagreement with health; the instance id and stage 1."""
    sara = people["sara"]
    started = sara.post(
        "/api/process-instances", json={"process_key": "escalation", "business_key": CHILD}
    ).get_json()
    (describe,) = started["active_tasks"]
    assert describe["assignee"] == "sara"  # given to whoever raised it (camunda:assignee)
    done = sara.post(f"/api/tasks/{describe['id']}/complete", json={"data": DISAGREEMENT})
    assert done.status_code == 200, done.get_json()
    (stage1,) = done.get_json()["active_tasks"]
    assert stage1["element_id"] == "resolve_stage1"
    return started["id"], stage1


def _candidates(client) -> set[str]:
    items = client.get("/api/tasks?view=candidate").get_json()["items"]
    return {item["id"] for item in items}


def _inbox_api(client) -> dict[str, dict]:
    response = client.get("/api/escalations")
    assert response.status_code == 200, response.get_json()
    return {item["id"]: item for item in response.get_json()["items"]}


def _inbox_page_task_ids(app, username: str) -> set[str]:
    """The tasks linked from the Disagreements section of /inbox, as ``username`` sees it."""
    page = _page_client(app, username).get("/inbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    section = html[html.index("Disagreements at my stage") : html.index("Advice requests")]
    return set(re.findall(r'href="/tasks/([0-9a-f-]{36})"', section))


def _page_client(app, username: str):
    client = token_client(app, username)  # pages accept the bearer token like the API
    return client


def _titles(client) -> list[tuple[str, str | None]]:
    items = client.get("/api/notifications").get_json()["items"]
    return [(item["title"], item["body"]) for item in items]


def _fire_stage_timer(app, clock, when: datetime) -> None:
    scheduler = start_scheduler(app)
    try:
        clock.set(when)
        assert scheduler.fire_due() >= 1
    finally:
        scheduler.shutdown()


def test_the_other_agency_takes_stage_1_and_a_third_agency_sees_nothing(people):
    instance_id, stage1 = _raise(people)
    hugh, pete = people["hugh"], people["pete"]
    assert stage1["id"] in _candidates(hugh)
    assert hugh.get(f"/api/tasks/{stage1['id']}").status_code == 200
    # the police were not part of it: nothing in lists, 404 on the task and the instance
    assert stage1["id"] not in _candidates(pete)
    assert pete.get(f"/api/tasks/{stage1['id']}").status_code == 404
    assert pete.post(f"/api/tasks/{stage1['id']}/claim").status_code == 404
    assert pete.get(f"/api/process-instances/{instance_id}").status_code == 404
    assert hugh.post(f"/api/tasks/{stage1['id']}/claim").status_code == 200
    assert hugh.get(f"/api/process-instances/{instance_id}").status_code == 200


def test_the_other_agency_is_a_party_of_the_escalation_only(people):
    instance_id, stage1 = _raise(people)
    sara, hugh = people["sara"], people["hugh"]
    other = sara.post(
        "/api/process-instances",
        json={"process_key": "information_sharing", "business_key": CHILD},
    ).get_json()
    answers = {"resolved": True, "resolution": "Health attends on Thursday"}
    assert hugh.post(f"/api/tasks/{stage1['id']}/claim").status_code == 200
    done = hugh.post(f"/api/tasks/{stage1['id']}/complete", json={"data": answers})
    assert done.status_code == 200, done.get_json()
    assert hugh.get(f"/api/process-instances/{instance_id}").status_code == 200
    assert hugh.get(f"/api/process-instances/{other['id']}").status_code == 404
    listed = hugh.get(f"/api/process-instances?business_key={CHILD}").get_json()["items"]
    assert [item["id"] for item in listed] == [instance_id]
    # resolved at stage 1: the raiser and the health practitioner who took part are told
    outcome = ("Disagreement: outcome at stage 1", "Outcome and learning: " + answers["resolution"])
    assert outcome in _titles(sara)
    assert outcome in _titles(hugh)
    assert outcome not in _titles(people["hana"])  # health took part: not its managers too
    assert _titles(people["pete"]) == []


def test_when_the_other_agency_took_no_part_its_managers_hear_the_outcome(people):
    _instance_id, stage1 = _raise(people)
    sara = people["sara"]
    answers = {"resolved": True, "resolution": "Agreed on the phone with the health visitor"}
    assert (
        sara.post(f"/api/tasks/{stage1['id']}/complete", json={"data": answers}).status_code == 200
    )
    assert any(t == "Disagreement: outcome at stage 1" for t, _ in _titles(people["hana"]))
    assert _titles(people["polly"]) == []


def test_stages_2_and_3_reach_both_agencies_and_the_board_gets_the_notice(
    clocked_app, clock, people
):
    instance_id, stage1 = _raise(people)
    # Monday 09:30 + 1 working day: stage 1 closes at 17:00 London on Tuesday
    _fire_stage_timer(clocked_app, clock, datetime(2026, 3, 3, 17, 0, 1, tzinfo=UTC))
    body = people["sara"].get(f"/api/process-instances/{instance_id}").get_json()
    (stage2,) = body["active_tasks"]
    assert stage2["element_id"] == "resolve_stage2"

    for manager in ("maya", "hana"):  # the raiser's line manager and health's manager
        api = {item["task_id"] for item in _inbox_api(people[manager]).values()}
        assert stage2["id"] in api
        assert _inbox_page_task_ids(clocked_app, manager) == api
    assert stage2["id"] not in {i["task_id"] for i in _inbox_api(people["polly"]).values()}
    assert people["polly"].get(f"/api/tasks/{stage2['id']}").status_code == 404

    hana = people["hana"]
    not_yet = {"resolved": False, "resolution": "Managers still disagree about the threshold"}
    assert hana.post(f"/api/tasks/{stage2['id']}/claim").status_code == 200
    done = hana.post(f"/api/tasks/{stage2['id']}/complete", json={"data": not_yet})
    assert done.status_code == 200, done.get_json()
    (stage3,) = done.get_json()["active_tasks"]
    assert stage3["element_id"] == "resolve_stage3"
    assert _inbox_api(hana) == {}  # stage 2 is done: its item is gone
    for dsl in ("dina", "dev"):
        api = {item["task_id"] for item in _inbox_api(people[dsl]).values()}
        assert api == {stage3["id"]}
        assert _inbox_page_task_ids(clocked_app, dsl) == api

    dev = people["dev"]
    no_notice = {"resolved": True, "resolution": "Health attends"}
    refused = dev.post(f"/api/tasks/{stage3['id']}/complete", json={"data": no_notice})
    assert refused.status_code == 422
    assert "escalation_notice" in str(refused.get_json())
    notice = "Escalation notice: health and the school disagree on attending the strategy meeting"
    resolved = {
        **no_notice,
        "resolution": "Health attends and shares records",
        "escalation_notice": notice,
    }
    done = dev.post(f"/api/tasks/{stage3['id']}/complete", json={"data": resolved})
    assert done.status_code == 200, done.get_json()

    bea = people["bea"]
    titles = _titles(bea)
    assert ("Stage 3 escalation notice: a disagreement between school and health", notice) in titles
    (item,) = _inbox_api(bea).values()
    assert item["kind"] == "escalation_notice" and item["task_id"] is None
    assert item["details"] == {
        "stage": 3,
        "agencies": ["school", "health"],
        "notice": notice,
        "resolved": True,
    }
    page = _page_client(clocked_app, "bea").get("/inbox").get_data(as_text=True)
    assert notice in page and CHILD not in page
    # the board reads no case: its role may not open an instance at all
    assert bea.get(f"/api/process-instances/{instance_id}").status_code == 403

    outcome = (
        "Disagreement: outcome at stage 3",
        "Outcome and learning: Health attends and shares records",
    )
    for name in ("sara", "hana", "dev"):
        assert outcome in _titles(people[name]), name
    for name in ("pete", "polly", "maya", "bea"):
        assert outcome not in _titles(people[name]), name


def test_a_step_that_ran_out_of_time_says_where_the_work_went(clocked_app, clock, people):
    """Stage 1 cancelled by its timer once read "1 working day late", with no word of stage 2."""
    _, stage1 = _raise(people)
    _fire_stage_timer(clocked_app, clock, datetime(2026, 3, 4, 17, 0, 1, tzinfo=UTC))
    page = _page_client(clocked_app, "sara").get(f"/tasks/{stage1['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = re.search(r'class="task-ended"[^>]*>([^<]*)<', html)
    assert shown is not None
    assert shown.group(1) == (
        "Cancelled: the work moved to “Resolve between managers” (line managers, designated"
        " safeguarding leads)."
    )
    assert "working day late" not in html and "h late" not in html
