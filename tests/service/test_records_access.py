"""Records are for those who keep them (issue 14, point 6): the Board reads aggregates only, the
auditor (the partnership's data protection officer) reads the register and the audit trail, and
neither does casework. Each test walks the whole URL map as the attacker would, so a route added
later without thinking about these roles is caught here."""

from __future__ import annotations

import re

import pytest

from tests.support.helpers import open_task_id, start_instance, token_client

CHILD = "zq-child-7Q4W"  # distinctive: found in a body only if a route hands out case data
PARAMS = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/docs"),
    ("GET", "/api/openapi.json"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/logout"),
    ("POST", "/logout"),
    ("POST", "/api/auth/token"),
    ("GET", "/reset/<token>"),  # a one-time link (410: no such link)
    ("POST", "/reset/<token>"),
    ("GET", "/login/sso/<provider>"),  # off to the identity provider (404: none configured)
    ("GET", "/login/sso/<provider>/callback"),
}
OWN_ACCOUNT = {  # everyone signed in: who am I, my reminders, my (empty) home page
    ("GET", "/"),
    ("GET", "/api/me"),
    ("DELETE", "/api/auth/token"),
    ("GET", "/api/notifications"),
    ("POST", "/api/notifications/<notification_id>/read"),
    ("GET", "/notifications"),
    ("POST", "/notifications/<notification_id>/read"),
    ("POST", "/notifications/read"),
    ("GET", "/account/sessions"),  # where they are signed in (issue 19)
    ("POST", "/account/sessions/<session_id>/end"),
    ("POST", "/account/sessions/end-all"),
}
BOARD = {
    ("GET", "/api/reports/sharing"),
    ("GET", "/reports"),
    ("GET", "/api/escalations"),  # stage-3 copies: the step's name, never the child
    ("POST", "/api/escalations/<escalation_id>/resolve"),
    ("GET", "/inbox"),  # the same copies as a page: stage, agencies, notice; never the child
    ("POST", "/inbox/escalations/<escalation_id>/resolve"),
}
AUDITOR = {
    ("GET", "/api/sharing-records"),
    ("GET", "/api/sharing-records/verify"),
    ("GET", "/api/audit"),
    ("GET", "/api/audit/verify"),
}


@pytest.fixture
def case(app, client, client_for, deployed) -> dict[str, str]:
    """A running case of CHILD, the Board member and the auditor each managing someone who does
    its work: the strongest position either could be in (need-to-know would let them in)."""
    client_for("bea", ["board"], agency="partnership")
    client_for("dee", ["auditor"], agency="partnership")
    pat = client_for("pat", ["practitioner"], agency="school", manager="bea")
    pam = client_for("pam", ["practitioner"], agency="school", manager="dee")
    started = start_instance(pat, business_key=CHILD)
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    [task] = started.get_json()["active_tasks"]
    assert pam.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    return {
        "instance_id": instance_id,
        "task_id": open_task_id(app, instance_id, "describe"),
        "business_key": CHILD,
        "key": "three_steps",
        "record_id": "1",
    }


def _routes(app, known: dict[str, str]):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = PARAMS.sub(lambda m: known.get(m.group(1), "nothing-here"), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule, url


def _walk(app, client, known) -> tuple[set, list[str]]:
    """(method, rule) pairs the client was not refused with 403, and every body it read."""
    reached, bodies = set(), []
    # Routes that sign the caller out go last, or every route after them would answer 401.
    last = [
        ("POST", "/logout"),
        ("DELETE", "/api/auth/token"),
        ("POST", "/account/sessions/end-all"),
    ]
    routes = sorted(_routes(app, known), key=lambda r: (r[0], r[1]) in last)
    for method, rule, url in routes:
        response = client.open(url, method=method, json={} if method != "GET" else None)
        assert response.status_code < 500, (method, url)
        if response.status_code != 403:
            reached.add((method, rule))
        bodies.append(response.get_data(as_text=True))
    return reached, bodies


def test_the_board_reaches_reports_only_and_never_a_business_key(app, case, client_for):
    board = client_for("bea")
    reached, bodies = _walk(app, board, case)
    assert reached == PUBLIC | OWN_ACCOUNT | BOARD
    assert not [body for body in bodies if CHILD in body]
    board = token_client(app, "bea")  # the walk ended by signing out
    for url in ("/api/sharing-records", "/api/sharing-records/verify", "/api/audit"):
        assert board.get(url).status_code == 403, url
    assert board.get("/api/tasks").status_code == 403
    assert board.get(f"/cases/{CHILD}").status_code == 403


def test_the_auditor_reads_records_and_does_no_casework(app, case, client_for):
    auditor = client_for("dee")
    reached, _ = _walk(app, auditor, case)
    assert reached == PUBLIC | OWN_ACCOUNT | AUDITOR
    auditor = token_client(app, "dee")  # the walk ended by signing out
    home = auditor.get("/")
    assert home.status_code == 200 and CHILD not in home.get_data(as_text=True)
    started = auditor.post("/api/process-instances", json={"process_key": "three_steps"})
    assert started.status_code == 403
    claim = auditor.post(f"/api/tasks/{case['task_id']}/claim")
    assert claim.status_code == 403


def test_admins_check_the_chains_but_read_no_register_rows_or_audit_events(case, client):
    assert client.get("/api/sharing-records").status_code == 403
    assert client.get("/api/audit").status_code == 403
    assert client.get("/api/sharing-records/verify").get_json()["ok"] is True
    assert client.get("/api/audit/verify").get_json()["ok"] is True
