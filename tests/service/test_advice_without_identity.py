"""Advice without identity (issue 15, point 5; protocol §4 "seek advice", docs/security.md).

A practitioner asks advice without naming the child: the adviser - here a DSL of another
agency - reads the summary the practitioner wrote, never the business key or the case, and does
not become a party. Everything goes through HTTP, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.conftest import fixture_bytes
from tests.support.helpers import active_task, clients_for, deploy_xml

CHILD = "CHILD-ANON-7731"
SUMMARY = "Year 9 pupil, seen leaving school with an older man; parents unaware"
PROCESS = "advice_and_details"
PEOPLE = {
    "maya": (["manager"], "school", None),
    "pat": (["practitioner"], "school", "maya"),
    "sid": (["dsl"], "school", None),
    "dina": (["dsl"], "voluntary", None),  # a DSL of another agency: may take anonymous advice
    "otto": (["manager"], "voluntary", None),
    "hugo": (["practitioner"], "health", None),
}


@pytest.fixture
def people(client, client_for):
    response = deploy_xml(client, fixture_bytes("advice_and_details.bpmn"))
    assert response.status_code == 201, response.get_json()
    return clients_for(client_for, PEOPLE)


def _open(client, instance_id: str, element_id: str) -> dict:
    return active_task(client, instance_id, element_id)


def _ask(people, anonymous: bool) -> tuple[str, str]:
    """pat starts the case and asks advice; returns (instance id, give_advice task id)."""
    pat = people["pat"]
    body = {"process_key": PROCESS, "business_key": CHILD}
    started = pat.post("/api/process-instances", json=body)
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    check = _open(pat, instance_id, "safeguarding_check")
    answers = {"cse_concern": True, "anonymous_advice": anonymous, "advice_summary": SUMMARY}
    done = pat.post(f"/api/tasks/{check['id']}/complete", json={"data": answers})
    assert done.status_code == 200, done.get_json()
    return instance_id, _open(pat, instance_id, "give_advice")["id"]


def _candidates(client) -> list[dict]:
    return client.get("/api/tasks", query_string={"view": "candidate"}).get_json()["items"]


def test_the_adviser_reads_the_summary_and_never_the_child(people):
    instance_id, task_id = _ask(people, anonymous=True)
    dina = people["dina"]

    listed = dina.get("/api/tasks", query_string={"view": "candidate"})
    assert task_id in {row["id"] for row in listed.get_json()["items"]}
    assert CHILD not in listed.get_data(as_text=True)
    home = dina.get("/")
    assert home.status_code == 200 and CHILD not in home.get_data(as_text=True)
    assert "without the child" in home.get_data(as_text=True)

    view = dina.get(f"/api/tasks/{task_id}")
    assert view.status_code == 200, view.get_json()
    body = view.get_json()
    assert body["data"]["advice_summary"] == SUMMARY
    assert body["business_key"] is None
    assert [field["id"] for field in body["form"]] == ["advice"]
    assert CHILD not in view.get_data(as_text=True)
    page = dina.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert SUMMARY in page.get_data(as_text=True)
    assert CHILD not in page.get_data(as_text=True)
    assert "/cases/" not in page.get_data(as_text=True)

    assert dina.get(f"/api/process-instances/{instance_id}").status_code == 404
    assert dina.get(f"/api/process-instances/{instance_id}/history").status_code == 404
    assert dina.get(f"/cases/{CHILD}").status_code == 404
    listed = dina.get("/api/process-instances").get_json()["items"]
    assert instance_id not in {item["id"] for item in listed}

    claimed = dina.post(f"/api/tasks/{task_id}/claim")
    assert claimed.status_code == 200 and CHILD not in claimed.get_data(as_text=True)
    mine = dina.get("/api/tasks", query_string={"view": "mine"})
    assert task_id in {row["id"] for row in mine.get_json()["items"]}
    assert CHILD not in mine.get_data(as_text=True)
    assert dina.get(f"/api/process-instances/{instance_id}").status_code == 404

    done = dina.post(f"/api/tasks/{task_id}/complete", json={"data": {"advice": "Refer to CSC"}})
    assert done.status_code == 200, done.get_json()
    assert CHILD not in done.get_data(as_text=True)
    assert done.get_json()["variables"] == {}

    # Doing the work made her no party: the case stays closed to her.
    assert dina.get(f"/api/process-instances/{instance_id}").status_code == 404
    assert dina.get(f"/cases/{CHILD}").status_code == 404
    after = dina.get(f"/api/tasks/{task_id}")
    assert after.status_code == 200 and CHILD not in after.get_data(as_text=True)

    # The practitioner who asked sees the advice in the case, as before.
    seen = people["pat"].get(f"/api/process-instances/{instance_id}")
    assert seen.get_json()["variables"]["advice"] == "Refer to CSC"
    assert people["pat"].get(f"/cases/{CHILD}").status_code == 200


def test_a_manager_who_could_advise_sees_the_case_only_through_their_own_team(people):
    instance_id, task_id = _ask(people, anonymous=True)
    # otto (a manager elsewhere) may take the advice but sees no case through it.
    otto = people["otto"]
    assert task_id in {row["id"] for row in _candidates(otto)}
    assert otto.get(f"/api/process-instances/{instance_id}").status_code == 404
    # maya, pat's own manager, sees the case: she manages the one who started it.
    maya = people["maya"]
    assert maya.get(f"/api/process-instances/{instance_id}").status_code == 200
    assert maya.get(f"/cases/{CHILD}").status_code == 200
    # Someone with no role on the step sees neither the task nor the case.
    hugo = people["hugo"]
    assert hugo.get(f"/api/tasks/{task_id}").status_code == 404
    assert hugo.post(f"/api/tasks/{task_id}/claim").status_code == 404


def test_a_claimed_withheld_task_is_the_holders_alone(people):
    _instance_id, task_id = _ask(people, anonymous=True)
    assert people["dina"].post(f"/api/tasks/{task_id}/claim").status_code == 200
    assert people["otto"].get(f"/api/tasks/{task_id}").status_code == 404
    assert task_id not in {row["id"] for row in _candidates(people["otto"])}


def test_advice_with_the_childs_identity_makes_the_adviser_a_party_as_before(people):
    instance_id, task_id = _ask(people, anonymous=False)
    # Agency-scoped as ever: a DSL of another agency is not offered it.
    assert task_id not in {row["id"] for row in _candidates(people["dina"])}
    assert people["dina"].get(f"/api/tasks/{task_id}").status_code == 404
    sid = people["sid"]
    view = sid.get(f"/api/tasks/{task_id}").get_json()
    assert view["business_key"] == CHILD
    assert sid.post(f"/api/tasks/{task_id}/claim").status_code == 200
    done = sid.post(f"/api/tasks/{task_id}/complete", json={"data": {"advice": "Share now"}})
    assert done.status_code == 200 and done.get_json()["business_key"] == CHILD
    assert sid.get(f"/api/process-instances/{instance_id}").status_code == 200
    assert sid.get(f"/cases/{CHILD}").status_code == 200
