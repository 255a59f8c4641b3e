"""Being a party comes only from doing the work (issue 14, point 1), played through the API.

hugo is a practitioner and manager at a health agency who knows a school child's business key.
He tries every route that reads or changes case data; none of them may make him a party to the
child's processes that pat (the school's practitioner) started.
"""

from __future__ import annotations

import pytest

from tests.support.helpers import assert_error, casework_people

CHILD = "child-1"
PEOPLE = {
    "maya": (["manager"], "school", None),
    "pat": (["practitioner"], "school", "maya"),
    "sam": (["practitioner"], "school", None),
    "sid": (["practitioner"], "school", None),
    "hugo": (["practitioner", "manager"], "health", None),
    "colin": (["csc"], "childrens_social_care", None),
}
CONSENT = {
    "child": CHILD,
    "person": "mother",
    "agencies": ["health"],
    "purposes": ["early help"],
    "how": "written",
}


@pytest.fixture
def people(client, client_for):
    return casework_people(client, client_for, PEOPLE)


def _start(who, process_key: str = "three_steps", business_key: str = CHILD) -> dict:
    response = who.post(
        "/api/process-instances", json={"process_key": process_key, "business_key": business_key}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def _sees(who, instance_id: str) -> bool:
    status = who.get(f"/api/process-instances/{instance_id}").status_code
    assert status in (200, 404)
    return status == 200


def _instance_routes(instance: dict) -> list[tuple[str, str, dict | None]]:
    base = f"/api/process-instances/{instance['id']}"
    routes = [
        ("GET", base, None),
        ("GET", f"{base}/diagram", None),
        ("GET", f"{base}/history", None),
        ("POST", f"{base}/messages", {"name": "docs_received"}),
        ("POST", f"{base}/cancel", {"reason": "mine now"}),
    ]
    for task in instance["active_tasks"]:
        url = f"/api/tasks/{task['id']}"
        routes += [
            ("GET", url, None),
            ("POST", f"{url}/claim", None),
            ("POST", f"{url}/assign", {"user": "hugo"}),
            ("POST", f"{url}/complete", {"data": {"concern": "x", "severity": 1}}),
        ]
    return routes


def test_an_outsider_who_knows_the_business_key_joins_nothing(people):
    pat, hugo = people["pat"], people["hugo"]
    decision, waiting = _start(pat), _start(pat, "wait_for_message")
    consent = pat.post("/api/consents", json=CONSENT)
    assert consent.status_code == 201, consent.get_json()

    # Every way in that a key alone might open, before hugo has any instance of the child.
    assert_error(hugo.get("/api/consents", query_string={"child": CHILD}), 404)
    assert_error(hugo.post("/api/consents", json=CONSENT), 404)
    withdraw = {"reason": "I say so"}
    assert_error(
        hugo.post(f"/api/consents/{consent.get_json()['id']}/withdraw", json=withdraw), 404
    )
    assert hugo.get(f"/cases/{CHILD}").status_code == 404
    for instance in (decision, waiting):
        for method, url, body in _instance_routes(instance):
            assert_error(hugo.open(url, method=method, json=body), 404)

    # He may start a process of his own for the child: it makes him a party to that one only.
    own = _start(hugo)
    page = hugo.get(f"/cases/{CHILD}")
    assert page.status_code == 200
    assert own["id"] in page.text
    assert decision["id"] not in page.text and waiting["id"] not in page.text
    consents = hugo.get("/api/consents", query_string={"child": CHILD})
    assert consents.status_code == 200  # need-to-know of the child, through his own instance

    # ... and still nothing else of the child's answers, whatever he tried before.
    for instance in (decision, waiting):
        for method, url, body in _instance_routes(instance):
            assert_error(hugo.open(url, method=method, json=body), 404)
    assert _ids(hugo.get("/api/process-instances")) == {own["id"]}
    for view in ("mine", "candidate", "all"):
        tasks = hugo.get("/api/tasks", query_string={"view": view}).get_json()["items"]
        assert {t["instance_id"] for t in tasks} <= {own["id"]}, view
    register = hugo.get("/api/sharing-records", query_string={"child": CHILD})
    assert register.status_code == 200
    assert {e["instance_id"] for e in register.get_json()["items"]} <= {own["id"]}
    # pat's processes are untouched: nothing he sent was taken.
    assert pat.get(f"/api/process-instances/{decision['id']}").get_json()["state"] == "running"


def test_recording_a_consent_makes_nobody_a_party(people):
    decision = _start(people["pat"])
    # colin keeps the consent register at the front door: he may record one for any child...
    recorded = people["colin"].post("/api/consents", json=CONSENT)
    assert recorded.status_code == 201, recorded.get_json()
    listed = people["colin"].get("/api/consents", query_string={"child": CHILD})
    assert listed.status_code == 200
    # ... which shows him nothing of the child's processes.
    assert not _sees(people["colin"], decision["id"])
    assert people["colin"].get(f"/cases/{CHILD}").status_code == 404
    withdrawn = people["colin"].post(
        f"/api/consents/{recorded.get_json()['id']}/withdraw", json={"reason": "mother rang"}
    )
    assert withdrawn.status_code == 200
    assert not _sees(people["colin"], decision["id"])


def test_holding_a_task_and_losing_it_ends_being_a_party_but_completing_one_does_not(people):
    pat, maya, sam, sid = people["pat"], people["maya"], people["sam"], people["sid"]
    instance = _start(pat)
    [describe] = instance["active_tasks"]
    url = f"/api/tasks/{describe['id']}"
    assert maya.post(f"{url}/assign", json={"user": "sam"}).status_code == 200
    assert _sees(sam, instance["id"])  # he holds its task
    assert maya.post(f"{url}/assign", json={"user": "sid"}).status_code == 200
    assert not _sees(sam, instance["id"])  # given to someone else before he did it
    done = sid.post(f"{url}/complete", json={"data": {"concern": "Bruises", "severity": 3}})
    assert done.status_code == 200, done.get_json()
    # The review is a manager's: sid no longer holds anything, but did a step, so sees the case.
    assert _sees(sid, instance["id"])
    assert not _sees(sam, instance["id"])
    assert _sees(pat, instance["id"]) and _sees(maya, instance["id"])


def test_giving_a_task_back_ends_being_a_party(people):
    instance = _start(people["pat"])
    [describe] = instance["active_tasks"]
    url = f"/api/tasks/{describe['id']}"
    assert people["sid"].post(f"{url}/claim").status_code == 200
    # While sid holds it, sam (another school practitioner) has nothing he could take.
    assert not _sees(people["sam"], instance["id"])
    assert people["maya"].post(f"{url}/assign", json={"user": "sam"}).status_code == 200
    assert not _sees(people["sid"], instance["id"])
    assert people["sam"].post(f"{url}/unclaim").status_code == 200
    # Back in the pool: every school practitioner may take it, nobody elsewhere.
    assert _sees(people["sid"], instance["id"]) and _sees(people["sam"], instance["id"])
    assert not _sees(people["hugo"], instance["id"])


def test_a_manager_gives_work_only_within_their_team_or_agency(people, client_for):
    instance = _start(people["pat"])
    [describe] = instance["active_tasks"]
    url = f"/api/tasks/{describe['id']}/assign"
    client_for("pete", ["practitioner"], agency="health")
    outside = people["maya"].post(url, json={"user": "pete"})
    error = assert_error(outside, 422, "invalid_input")
    assert "neither in your team nor in your agency" in str(error)
    assert not _sees(client_for("pete"), instance["id"])
    wrong_role = assert_error(people["maya"].post(url, json={"user": "colin"}), 422)
    assert "needs a practitioner" in str(wrong_role)
    assert people["maya"].post(url, json={"user": "sam"}).status_code == 200
