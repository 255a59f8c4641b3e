"""Diagrams from other modellers (tests/fixtures/foreign, README there): each is accepted and
starts without a 5xx, or refused with problems that each name a line — with the house
conventions on and off (issue 20). SQLite only: nothing here depends on the database.

The expected outcome of every file is written down below, so a change that lets a refused
construct through (or refuses one that runs) fails here by name; docs/diagrams-from-other-
modellers.md records the same counts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.app import create_app
from tests.conftest import FIXTURES
from tests.support.helpers import XML, admin_client

CORPUS = sorted((FIXTURES / "foreign").glob("*.bpmn"))
# Accepted with DIAGRAM_CONVENTIONS off; with them on, only those that give every user task a
# role, a form and a due time (or have no user task).
ACCEPTED_WITHOUT_CONVENTIONS = {
    "act_form_enum",
    "c7_call_activity_same_file",
    "c7_condition_python",
    "c7_timer_reminder",
    "c7_user_task_form",
    "c7_user_task_no_due_time",
    "c8_message_catch",
    "c8_user_task_plain",
    "fl_form_properties",
    "spiff_instructions",
    "spiff_script_tasks",
}
NEED_CONVENTIONS = {"act_form_enum", "c7_user_task_no_due_time", "c8_user_task_plain"}
NEED_CONVENTIONS |= {"fl_form_properties"}
ACCEPTED_WITH_CONVENTIONS = ACCEPTED_WITHOUT_CONVENTIONS - NEED_CONVENTIONS
# Accepted diagrams that wait for a message after starting (no open task, by design).
WAIT_FOR_EVENTS = {"c8_message_catch"}
# What the author is told: (file, element id, words of the message) — the Python form of a
# plain foreign expression, the reason an element cannot run.
TOLD = [
    ("c7_condition_el_plain", "flow_yes", "Python expressions over the task data: write decided"),
    ("c7_condition_el_plain", "flow_no", "write not decided"),
    ("c7_condition_el_amount", "flow_yes", "write amount > 1000"),
    ("c8_feel_condition", "flow_yes", "Camunda 8 FEEL expression (=…); conditions here are Python"),
    ("c8_feel_condition_equals", "flow_yes", 'write status == "open"'),
    ("fl_condition_el", "flow_yes", "write decided == True"),
    ("c7_condition_el_method", "flow_yes", "rewrite it in Python"),
    ("c7_service_class", "send_letter", "camunda:class='org.example.LetterDelegate'"),
    ("c7_service_external", "lookup", "provides no service-task implementations"),
    ("c8_service_job_worker", "email", "zeebe:taskDefinition type='email-sender'"),
    ("c7_business_rule_dmn", "threshold", "decision 'threshold_decision' is not deployed"),
    ("c7_call_activity_missing", "refer", "process 'referral_process', which is not in this file"),
    ("c7_start_event_id_start", "Start", "the engine's own name"),
    ("c8_link_events", "jump", "link events are not supported"),
    ("fl_form_expression", "confirm", "expression='${order.total}' is not read here"),
]


def _corpus_app(tmp_path: Path, template: Path, conventions: bool):
    database = tmp_path / "foreign.db"
    shutil.copy(template, database)
    config = {"DATABASE_URL": f"sqlite:///{database}", "TESTING": True}
    return create_app({**config, "DIAGRAM_CONVENTIONS": conventions})


@pytest.fixture(scope="module", params=[False, True], ids=["conventions-off", "conventions-on"])
def corpus_client(request, tmp_path_factory, sqlite_template):
    app = _corpus_app(tmp_path_factory.mktemp("foreign"), sqlite_template, request.param)
    yield request.param, admin_client(app)
    app.extensions["safeguard"].db.dispose()


def test_the_corpus_has_thirty_files_or_more_each_listed_in_its_readme():
    readme = (FIXTURES / "foreign" / "README.md").read_text()
    assert len(CORPUS) >= 30
    assert [path.name for path in CORPUS if f"`{path.name}`" not in readme] == []


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_each_diagram_is_accepted_and_starts_or_refused_with_lines(corpus_client, path):
    conventions, client = corpus_client
    content = path.read_bytes()
    checked = client.post(
        f"/api/process-definitions/validate?filename={path.name}", data=content, headers=XML
    )
    assert checked.status_code == 200
    errors = [p for p in checked.get_json()["problems"] if p["severity"] == "error"]
    deployed = client.post(
        f"/api/process-definitions?filename={path.name}", data=content, headers=XML
    )
    accepted = ACCEPTED_WITH_CONVENTIONS if conventions else ACCEPTED_WITHOUT_CONVENTIONS
    if path.stem not in accepted:
        assert errors, f"{path.name} validated clean, but should be refused"
        assert deployed.status_code == 422
        details = deployed.get_json()["error"]["details"]
        assert details == checked.get_json()["problems"]  # the deploy and validate lists agree
        for problem in details:
            assert isinstance(problem["line"], int) and problem["line"] > 0, problem
            assert problem["message"] and "{http" not in problem["message"], problem
        return
    assert errors == [], errors
    assert deployed.status_code == 201, deployed.get_json()
    started = client.post("/api/process-instances", json={"process_key": path.stem})
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    assert instance["state"] in ("running", "completed"), instance
    if instance["state"] == "running" and path.stem not in WAIT_FOR_EVENTS:
        assert instance["active_tasks"], f"{path.name} started and then stalled: {instance}"


@pytest.mark.parametrize(("name", "element_id", "words"), TOLD, ids=[t[0] for t in TOLD])
def test_each_refusal_says_what_to_write_instead(corpus_client, name, element_id, words):
    _, client = corpus_client
    content = (FIXTURES / "foreign" / f"{name}.bpmn").read_bytes()
    checked = client.post("/api/process-definitions/validate", data=content, headers=XML)
    told = [p["message"] for p in checked.get_json()["problems"] if p["element_id"] == element_id]
    assert any(words in message for message in told), told


def test_flowable_form_properties_become_the_task_form(corpus_client):
    """Field ids reused across tasks are not duplicate ids; the fields are the task's form."""
    conventions, client = corpus_client
    if conventions:
        pytest.skip("the Flowable tasks have no due time: refused with the conventions on")
    content = (FIXTURES / "foreign" / "fl_form_properties.bpmn").read_bytes()
    assert client.post("/api/process-definitions", data=content, headers=XML).status_code in (
        200,
        201,
    )
    started = client.post("/api/process-instances", json={"process_key": "fl_form_properties"})
    instance = started.get_json()
    assert instance["state"] == "running"
    task = next(t for t in instance["active_tasks"] if t["element_id"] == "assess")
    form = client.get(f"/api/tasks/{task['id']}").get_json()["form"]
    fields = {f["id"]: (f["type"], f["required"]) for f in form}
    assert fields == {"risk": ("long", True), "comment": ("string", False)}
