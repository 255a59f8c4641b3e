"""Details only a step's parties see (issue 15, point 6; protocol §4.2 CSE, docs/security.md).

A CSE partner's details, given at the safeguarding check, are shown in the task view of the
share (which carries the field) and nowhere else: not in the instance's variables, the case
page, the history, another step's view or the register - for anyone, the practitioner's
manager included. Through HTTP, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.conftest import fixture_bytes
from tests.support.helpers import active_task, auditor_client, clients_for, deploy_xml

CHILD = "CHILD-CSE-5521"
PARTNER = "Jordan Reeve, about 19, met online through a friend"
PEOPLE = {
    "maya": (["manager"], "school", None),
    "pat": (["practitioner"], "school", "maya"),
    "sid": (["dsl"], "school", None),
}


@pytest.fixture
def people(client, client_for):
    response = deploy_xml(client, fixture_bytes("advice_and_details.bpmn"))
    assert response.status_code == 201, response.get_json()
    return clients_for(client_for, PEOPLE)


def _open(client, instance_id: str, element_id: str) -> str:
    return active_task(client, instance_id, element_id)["id"]


@pytest.fixture
def case(people) -> dict:
    """pat gives the partner's details at the check; the advice (with the child named) waits."""
    pat = people["pat"]
    body = {"process_key": "advice_and_details", "business_key": CHILD}
    started = pat.post("/api/process-instances", json=body)
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    assert PARTNER not in started.get_data(as_text=True)
    check = _open(pat, instance_id, "safeguarding_check")
    answers = {"cse_concern": True, "anonymous_advice": False, "partner_details": PARTNER}
    done = pat.post(f"/api/tasks/{check}/complete", json={"data": answers})
    assert done.status_code == 200, done.get_json()
    assert PARTNER not in done.get_data(as_text=True)
    advice = _open(pat, instance_id, "give_advice")
    return {"id": instance_id, "check": check, "advice": advice}


def _absent_everywhere(client, instance_id: str) -> None:
    for url in (
        f"/api/process-instances/{instance_id}",
        f"/api/process-instances/{instance_id}/history",
        f"/cases/{CHILD}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert PARTNER not in response.get_data(as_text=True), url


def test_the_share_step_sees_the_details_and_no_other_view_does(people, case):
    sid = people["sid"]
    # The adviser's step does not carry the field: neither its data nor its answers so far.
    view = sid.get(f"/api/tasks/{case['advice']}")
    assert view.status_code == 200 and "partner_details" not in view.get_json()["data"]
    assert PARTNER not in view.get_data(as_text=True)
    page = sid.get(f"/tasks/{case['advice']}")
    assert page.status_code == 200 and PARTNER not in page.get_data(as_text=True)
    assert sid.post(f"/api/tasks/{case['advice']}/claim").status_code == 200
    done = sid.post(f"/api/tasks/{case['advice']}/complete", json={"data": {"advice": "Share"}})
    assert done.status_code == 200 and PARTNER not in done.get_data(as_text=True)

    # The share carries the field: its view shows what was given at the check.
    pat = people["pat"]
    share = _open(pat, case["id"], "share_information")
    shown = pat.get(f"/api/tasks/{share}")
    assert shown.get_json()["data"]["partner_details"] == PARTNER
    assert PARTNER in pat.get(f"/tasks/{share}").get_data(as_text=True)

    for name in ("pat", "maya", "sid"):
        _absent_everywhere(people[name], case["id"])


def test_the_register_never_carries_the_details(app, people, case):
    sid, pat = people["sid"], people["pat"]
    assert sid.post(f"/api/tasks/{case['advice']}/claim").status_code == 200
    sid.post(f"/api/tasks/{case['advice']}/complete", json={"data": {"advice": "Share"}})
    share = _open(pat, case["id"], "share_information")
    answers = {"partner_details": PARTNER, "information_shared": "CSE concerns and partner"}
    done = pat.post(f"/api/tasks/{share}/complete", json={"data": answers})
    assert done.status_code == 200, done.get_json()
    assert PARTNER not in done.get_data(as_text=True)

    for reader in (pat, people["maya"], auditor_client(app)):
        register = reader.get("/api/sharing-records", query_string={"child": CHILD})
        assert register.status_code == 200
        entries = register.get_json()["items"]
        assert len(entries) == 1 and entries[0]["decision"] == "share"
        assert PARTNER not in register.get_data(as_text=True)
    for name in ("pat", "maya"):
        _absent_everywhere(people[name], case["id"])
