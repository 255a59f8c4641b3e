"""A command's answer is what a read of the instance gives right after it (issue 16).

``POST /api/process-instances``, ``POST /api/tasks/{id}/complete`` and the message and cancel
routes build their answer inside the command's transaction, from the advance and what the
request holds, with no reads after the commit. These tests hold each answer against a ``GET``
of the instance made right after, key for key; tests/service/test_diagram_paths.py does the
same along every walked path of the shipped diagrams.
"""

from __future__ import annotations

import pytest

from tests.conftest import fixture_bytes
from tests.support.helpers import WAIT, active_task, clients_for, deploy_xml, start_instance

TASK = """
    <bpmn:userTask id="{id}" name="{id}" camunda:candidateGroups="practitioner"
                   camunda:dueDate="{due}">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="{field}" label="{field}" type="string" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f_{id}</bpmn:incoming><bpmn:outgoing>f_{id}_done</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f_{id}" sourceRef="split" targetRef="{id}" />
    <bpmn:sequenceFlow id="f_{id}_done" sourceRef="{id}" targetRef="join" />"""
# Two user tasks open at once: completing one leaves the other open from before the step.
PARALLEL = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs_two_at_once" targetNamespace="http://safeguard-flow/test">
  <bpmn:process id="two_at_once" name="Two at once" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f_first</bpmn:outgoing><bpmn:outgoing>f_second</bpmn:outgoing>
    </bpmn:parallelGateway>
    {TASK.format(id="first", due="1WD", field="one")}
    {TASK.format(id="second", due="2WD", field="two")}
    <bpmn:parallelGateway id="join">
      <bpmn:incoming>f_first_done</bpmn:incoming><bpmn:incoming>f_second_done</bpmn:incoming>
      <bpmn:outgoing>f_end</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f_end" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()


def read(client, instance_id: str) -> dict:
    response = client.get(f"/api/process-instances/{instance_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def maya(client, client_for):
    assert deploy_xml(client).status_code == 201
    return client_for("maya", ["manager"], agency="school")


@pytest.fixture
def pat(client_for, maya):
    return client_for("pat", ["practitioner"], agency="school", manager="maya")


def test_each_answer_of_a_walk_is_the_instance_as_read_right_after(pat, maya):
    started = start_instance(pat, business_key="child-1", variables={"source": "school"})
    assert started.status_code == 201, started.get_json()
    answer = started.get_json()
    instance_id = answer["id"]
    assert answer == read(pat, instance_id)
    for doer, element_id, data in (
        (pat, "describe", {"concern": "bruising", "severity": 8}),
        (maya, "review", {"approved": True}),
        (pat, "act", {"action_taken": "told the DSL"}),  # given back to its starter
    ):
        task = active_task(doer, instance_id, element_id)
        done = doer.post(f"/api/tasks/{task['id']}/complete", json={"data": data})
        assert done.status_code == 200, done.get_json()
        assert done.get_json() == read(doer, instance_id), element_id
    assert done.get_json()["state"] == "completed" and done.get_json()["active_tasks"] == []


def test_a_task_claimed_since_the_instance_was_cached_is_answered_as_its_row_stands(client, pat):
    assert deploy_xml(client, PARALLEL, "two_at_once.bpmn").status_code == 201
    started = start_instance(pat, key="two_at_once", business_key="child-2").get_json()
    assert started == read(pat, started["id"])
    second = active_task(pat, started["id"], "second")
    assert pat.post(f"/api/tasks/{second['id']}/claim").status_code == 200
    first = active_task(pat, started["id"], "first")
    done = pat.post(f"/api/tasks/{first['id']}/complete", json={"data": {"one": "x"}})
    assert done.status_code == 200, done.get_json()
    answer = done.get_json()
    assert [(t["element_id"], t["assignee"]) for t in answer["active_tasks"]] == [("second", "pat")]
    assert answer == read(pat, started["id"])


def test_a_delivered_message_and_a_cancel_answer_as_read(client, client_for):
    assert deploy_xml(client, WAIT).status_code == 201
    cara = client_for("cara", ["csc_manager"], agency="childrens_social_care")
    colin = client_for("colin", ["csc"], agency="childrens_social_care", manager="cara")
    started = start_instance(colin, key="wait_for_message", business_key="child-3").get_json()
    assert started == read(colin, started["id"])
    url = f"/api/process-instances/{started['id']}"
    sent = colin.post(f"{url}/messages", json={"name": "docs_received", "payload": {"n": 2}})
    assert sent.status_code == 200, sent.get_json()
    assert [t["element_id"] for t in sent.get_json()["active_tasks"]] == ["check_docs"]
    assert sent.get_json() == read(colin, started["id"])
    cancelled = cara.post(f"{url}/cancel", json={"reason": "opened by mistake"})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json() == read(colin, started["id"])


ADVICE = {
    "pat": (["practitioner"], "school", None),
    "dina": (["dsl"], "voluntary", None),  # a DSL of another agency: takes anonymous advice
}


def test_advice_without_identity_answers_the_read_less_the_case(client, client_for):
    assert deploy_xml(client, fixture_bytes("advice_and_details.bpmn")).status_code == 201
    people = clients_for(client_for, ADVICE)
    pat, dina = people["pat"], people["dina"]
    body = {"process_key": "advice_and_details", "business_key": "CHILD-9"}
    instance_id = pat.post("/api/process-instances", json=body).get_json()["id"]
    check = active_task(pat, instance_id, "safeguarding_check")
    answers = {"cse_concern": True, "anonymous_advice": True, "advice_summary": "a summary"}
    asked = pat.post(f"/api/tasks/{check['id']}/complete", json={"data": answers})
    assert asked.get_json() == read(pat, instance_id)
    advice = active_task(pat, instance_id, "give_advice")
    done = dina.post(f"/api/tasks/{advice['id']}/complete", json={"data": {"advice": "Refer"}})
    assert done.status_code == 200, done.get_json()
    withheld = dict(business_key=None, started_by=None, error=None, variables={}, active_tasks=[])
    assert done.get_json() == {**read(pat, instance_id), **withheld}
