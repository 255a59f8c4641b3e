"""Replies between processes (MESSAGE_REPLIES): a process started by a hand-off answers the
instance it was started from, if that instance waits for the answer, in the same transaction.

Small diagrams of their own (the shipped escalation's reply is another piece of work): a
``parent`` hands off to a ``child`` and waits at a catch event for ``child_done``; the child
throws ``child_done`` when its step is done (or when its timer fires).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.app import create_app
from service.context import services
from service.scheduling import start_scheduler
from storage.models import ProcessInstance
from storage.uow import UnitOfWork
from tests.service.conftest import MONDAY
from tests.support.helpers import admin_client, assert_error, deploy_xml, make_user, token_client
from workflows.clock import FrozenClock

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs_{key}" targetNamespace="http://safeguard-flow/test">
  <bpmn:message id="msg_start_child" name="start_child" />
  <bpmn:message id="msg_child_done" name="child_done" />
  <bpmn:process id="{key}" name="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
"""
TAIL = """  </bpmn:process>
</bpmn:definitions>
"""


def step(element_id: str, incoming: str, outgoing: str) -> str:
    """A user task given back to whoever started the instance, with one text answer."""
    return f"""
    <bpmn:userTask id="{element_id}" name="{element_id}" camunda:candidateGroups="practitioner"
                   camunda:assignee="initiator" camunda:dueDate="5WD">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="{element_id}_note" label="Note" type="string" />
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
    </bpmn:userTask>"""


def throw(element_id: str, message: str, expression: str, incoming: str, outgoing: str) -> str:
    return f"""
    <bpmn:intermediateThrowEvent id="{element_id}">
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="msg_{message}" camunda:expression="{expression}" />
    </bpmn:intermediateThrowEvent>"""


def flows(*pairs: tuple[str, str]) -> str:
    return "".join(
        f'\n    <bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}" />'
        for i, (a, b) in enumerate(pairs)
    )


def diagram(key: str, body: str) -> bytes:
    return (HEAD.format(key=key) + body + "\n" + TAIL).encode()


# ask → hand off to the child → wait for child_done → after_reply
PARENT = diagram(
    "parent",
    step("ask", "f0", "f1")
    + throw("hand_off", "start_child", "{'question': ask_note}", "f1", "f2")
    + """
    <bpmn:intermediateCatchEvent id="wait_child">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="msg_child_done" />
    </bpmn:intermediateCatchEvent>"""
    + step("after_reply", "f3", "f4")
    + '\n    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>'
    + flows(
        ("start", "ask"),
        ("ask", "hand_off"),
        ("hand_off", "wait_child"),
        ("wait_child", "after_reply"),
        ("after_reply", "end"),
    ),
)
# ask → hand off to the child → carry on (never waits for the reply)
PARENT_NOT_WAITING = diagram(
    "parent_not_waiting",
    step("ask", "f0", "f1")
    + throw("hand_off", "start_child", "{'question': ask_note}", "f1", "f2")
    + step("carry_on", "f2", "f3")
    + '\n    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
    + flows(("start", "ask"), ("ask", "hand_off"), ("hand_off", "carry_on"), ("carry_on", "end")),
)
# answer → reply child_done → end
CHILD = diagram(
    "child",
    step("answer", "f0", "f1")
    + throw("reply", "child_done", "{'answer': answer_note, 'upheld': True}", "f1", "f2")
    + '\n    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
    + flows(("start", "answer"), ("answer", "reply"), ("reply", "end")),
)
# a day passes → reply child_done → end (the timer path)
CHILD_TIMED = diagram(
    "child",
    """
    <bpmn:intermediateCatchEvent id="a_day">
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>"""
    + throw("reply", "child_done", "{'answer': 'no answer in a day'}", "f1", "f2")
    + '\n    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>'
    + flows(("start", "a_day"), ("a_day", "reply"), ("reply", "end")),
)
CONFIG = {
    "TESTING": True,
    "MESSAGE_STARTS": {"start_child": "child"},
    "MESSAGE_REPLIES": ("child_done",),
}


@pytest.fixture
def clock():
    return FrozenClock(MONDAY)


@pytest.fixture
def app(db_url, clock):
    app = create_app({"DATABASE_URL": db_url, **CONFIG}, clock=clock)
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture
def pat(app):
    admin = admin_client(app)
    for content in (PARENT, PARENT_NOT_WAITING):
        assert deploy_xml(admin, content).status_code == 201
    make_user(app, "pat", ["practitioner"], agency="school")
    return token_client(app, "pat")


def deploy_child(app, content: bytes = CHILD) -> None:
    assert deploy_xml(admin_client(app), content).status_code == 201


def done(client, instance: dict, element_id: str, note: str) -> dict:
    """Complete the instance's open ``element_id``; the instance as the API answers."""
    [task] = [t for t in instance["active_tasks"] if t["element_id"] == element_id]
    response = client.post(
        f"/api/tasks/{task['id']}/complete", json={"data": {f"{element_id}_note": note}}
    )
    assert response.status_code == 200, response.get_json()
    return client.get(f"/api/process-instances/{instance['id']}").get_json()


def handed_off(client, key: str = "parent", business_key: str = "child-7") -> tuple[dict, dict]:
    """A ``key`` instance for ``business_key`` that has handed off: (parent, the child instance)."""
    started = client.post(
        "/api/process-instances", json={"process_key": key, "business_key": business_key}
    ).get_json()
    parent = done(client, started, "ask", "Is the plan safe?")
    [mine] = handed_to(client.application, parent["id"])
    return parent, client.get(f"/api/process-instances/{mine}").get_json()


def handed_to(app, instance_id: str) -> list[str]:
    """The instances ``instance_id`` started (``started_from``, which the API does not show)."""
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        query = select(ProcessInstance.id).where(ProcessInstance.started_from == instance_id)
        return list(uow.session.scalars(query))


def steps(instance: dict) -> list[str]:
    return sorted(t["element_id"] for t in instance["active_tasks"])


def test_the_source_moves_on_with_the_reply(app, pat):
    deploy_child(app)
    parent, child = handed_off(pat)
    assert steps(parent) == []  # waiting at the catch event
    done(pat, child, "answer", "Yes, with weekly visits")
    parent = pat.get(f"/api/process-instances/{parent['id']}").get_json()
    assert steps(parent) == ["after_reply"]
    assert parent["variables"]["child_done"] == {
        "answer": "Yes, with weekly visits",
        "upheld": True,
    }


def test_a_source_not_waiting_is_left_alone(app, pat, caplog):
    deploy_child(app)
    parent, child = handed_off(pat, "parent_not_waiting")
    before = pat.get(f"/api/process-instances/{parent['id']}").get_json()
    with caplog.at_level(logging.INFO, logger="tasks.effects"):
        done(pat, child, "answer", "Yes")  # 200: a reply nobody waits for fails nothing
    after = pat.get(f"/api/process-instances/{parent['id']}").get_json()
    assert steps(after) == ["carry_on"]
    assert "child_done" not in after["variables"]
    assert after["version"] == before["version"]
    assert "dropped" in caplog.text


def test_a_reply_goes_to_the_source_and_no_other_instance(app, pat):
    deploy_child(app)
    first, first_child = handed_off(pat, business_key="child-7")
    # the same child, waiting for the same message
    second, _ = handed_off(pat, business_key="child-7")
    done(pat, first_child, "answer", "Answer for the first")
    first = pat.get(f"/api/process-instances/{first['id']}").get_json()
    second = pat.get(f"/api/process-instances/{second['id']}").get_json()
    assert steps(first) == ["after_reply"]
    assert steps(second) == []
    assert "child_done" not in second["variables"]


def test_a_caller_cannot_send_the_reply_itself(app, pat):
    deploy_child(app)
    parent, _ = handed_off(pat)
    response = pat.post(
        f"/api/process-instances/{parent['id']}/messages",
        json={"name": "child_done", "payload": {"upheld": True}},
    )
    assert_error(response, 422)
    assert steps(pat.get(f"/api/process-instances/{parent['id']}").get_json()) == []


def test_a_reply_thrown_after_a_timer_is_delivered(app, pat, clock):
    deploy_child(app, CHILD_TIMED)
    parent, child = handed_off(pat)
    scheduler = start_scheduler(app)
    try:
        clock.advance(timedelta(days=1, minutes=1))
        assert scheduler.fire_due() == 1
    finally:
        scheduler.shutdown()
    assert pat.get(f"/api/process-instances/{child['id']}").get_json()["state"] == "completed"
    parent = pat.get(f"/api/process-instances/{parent['id']}").get_json()
    assert steps(parent) == ["after_reply"]
    assert parent["variables"]["child_done"] == {"answer": "no answer in a day"}


def test_the_service_replies_with_the_escalation_outcome():
    from service.config import Config

    assert "escalation_outcome" in Config.MESSAGE_REPLIES
