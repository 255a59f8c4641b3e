"""The audit trail: who read or changed which case, sign-ins, and a chain that shows tampering."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from records.sealing import seal
from service import trail
from service.cli import main
from service.context import services
from tests.support.helpers import assert_error, deploy_xml, make_user, token_client


@pytest.fixture
def people(app, client):
    assert deploy_xml(client).status_code == 201
    make_user(app, "pat", ["practitioner"], agency="school", password="correct-horse-battery")
    make_user(app, "hugo", ["practitioner"], agency="health")
    make_user(app, "dee", ["auditor"], agency="partnership")
    make_user(app, "bea", ["board"], agency="partnership")
    return {
        "pat": token_client(app, "pat"),
        "hugo": token_client(app, "hugo"),
        "admin": client,
        "auditor": token_client(app, "dee"),
        "board": token_client(app, "bea"),
    }


def _events(client, **args) -> list[dict]:
    response = client.get("/api/audit", query_string={"limit": 500, **args})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_reads_changes_and_refusals_of_a_case_are_recorded(people):
    started = (
        people["pat"]
        .post(
            "/api/process-instances", json={"process_key": "three_steps", "business_key": "child-7"}
        )
        .get_json()
    )
    people["pat"].get(f"/api/process-instances/{started['id']}")
    people["hugo"].get(f"/api/process-instances/{started['id']}")  # an outsider: 404
    events = _events(people["auditor"], instance_id=started["id"])
    assert [(e["actor"], e["action"], e["outcome"]) for e in events] == [
        ("pat", "instances.start", "ok"),
        ("pat", "instances.get_instance", "ok"),
        ("hugo", "instances.get_instance", "404"),
    ]
    assert [e["case_key"] for e in events] == ["child-7", "child-7", None]
    assert events[0]["detail"]["process_key"] == "three_steps"


def test_sign_ins_are_recorded_with_their_outcome(app, people):
    anonymous = app.test_client()
    bad = {"username": "pat", "password": "wrong-password"}
    assert anonymous.post("/api/auth/token", json=bad).status_code == 401
    good = {"username": "pat", "password": "correct-horse-battery"}
    assert anonymous.post("/api/auth/token", json=good).status_code == 200
    events = _events(people["auditor"], user="pat")
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("auth.create_token", "invalid_credentials"),
        ("auth.create_token", "ok"),
    ]


def test_only_the_auditor_reads_the_trail_and_admins_may_check_it(people):
    for who in ("pat", "board", "admin"):
        assert_error(people[who].get("/api/audit"), 403, "forbidden")
    for who in ("pat", "board"):
        assert_error(people[who].get("/api/audit/verify"), 403, "forbidden")
    assert people["admin"].get("/api/audit/verify").get_json()["ok"] is True
    assert people["auditor"].get("/api/audit/verify").get_json()["ok"] is True


def test_the_auditors_reads_are_themselves_audited(people):
    """The data protection officer is watched too: each read of the trail is an event."""
    people["auditor"].get("/api/audit?user=pat")
    people["auditor"].get("/api/audit/verify")
    people["board"].get("/api/audit")  # refused, and recorded as refused
    mine = _events(people["auditor"], user="dee")
    assert [(e["action"], e["outcome"]) for e in mine][:2] == [
        ("audit.list_events", "ok"),
        ("audit.verify_chain", "ok"),
    ]
    refused = _events(people["auditor"], user="bea")
    assert [(e["action"], e["outcome"]) for e in refused] == [("audit.list_events", "403")]


def _seal(app) -> int:
    """What the serving processes' sealer does every few seconds."""
    trail.flush(app)
    with app.app_context():
        return seal(services().session_factory, services().clock.now()).events


def test_an_edit_behind_the_services_back_breaks_the_chain_there(app, people):
    for _ in range(3):
        people["pat"].get("/api/tasks")
    total = len(_events(people["auditor"])) + 1  # and this read of the trail itself
    assert _seal(app) == total
    assert people["admin"].get("/api/audit/verify").get_json() == {
        "ok": True,
        "checked": total,
        "unsealed": 0,
        "heads_file": False,
    }
    with services_of(app).db.begin() as connection:
        connection.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 2"))
    report = people["admin"].get("/api/audit/verify").get_json()
    assert report["ok"] is False and report["broken_at"]["seq"] == 2
    assert "changed" in report["broken_at"]["reason"]
    result = CliRunner().invoke(main, ["audit", "verify"], env=_env(app))
    assert result.exit_code == 1 and "event 2" in result.output


def test_a_removed_event_is_found(app, people):
    for _ in range(3):
        people["pat"].get("/api/tasks")
    _seal(app)
    with services_of(app).db.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    report = people["admin"].get("/api/audit/verify").get_json()
    assert report["broken_at"] == {"seq": 2, "reason": "an event is missing"}


def test_the_command_line_reports_an_intact_chain(app, people):
    people["pat"].get("/api/tasks")
    _seal(app)
    result = CliRunner().invoke(main, ["audit", "verify"], env=_env(app))
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def services_of(app):
    with app.app_context():
        return services()


def _env(app) -> dict:
    return {"DATABASE_URL": app.config["DATABASE_URL"]}


def test_changes_at_the_command_line_are_audited(app, client):
    env = _env(app)
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["users", "add", "zoe", "--role", "practitioner", "--password-stdin"],
        input="long-enough-password\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    assert runner.invoke(main, ["users", "disable", "zoe"], env=env).exit_code == 0
    make_user(app, "dee", ["auditor"], agency="partnership")
    actions = [(e["action"], e["detail"]) for e in _events(token_client(app, "dee"))]
    zoe = {
        "username": "zoe",
        "display_name": "zoe",
        "roles": ["practitioner"],
        "agency": None,
        "manager": None,
        "email": None,
        "active": True,
    }
    added = {"username": "zoe", "before": None, "after": zoe}
    assert ("cli.users.add", added) in actions
    disabled = {"username": "zoe", "before": zoe, "after": {**zoe, "active": False}}
    assert ("cli.users.disable", disabled) in actions
    assert client.get("/api/audit/verify").get_json()["ok"] is True
