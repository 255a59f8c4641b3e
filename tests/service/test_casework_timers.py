"""A step a timer takes goes through the same after-step routine as a step a person takes:
a referral thrown after a timer fires starts the referral, for the same child."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from service.app import create_app
from service.context import services
from service.scheduling import start_scheduler
from storage.models import ProcessInstance
from storage.uow import UnitOfWork
from tests.service.conftest import MONDAY
from tests.support.helpers import admin_client, deploy_xml, make_user, token_client
from workflows.clock import FrozenClock

BPMN = Path(__file__).resolve().parents[2] / "bpmn"

# start → a day passes → throw start_referral → end
TIMED_REFERRAL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  id="defs_timed_referral" targetNamespace="http://safeguard-flow/test">
  <bpmn:message id="msg_start_referral" name="start_referral" />
  <bpmn:process id="timed_referral" name="Refer if nothing happens in a day" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="a_day">
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateThrowEvent id="refer">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="msg_start_referral"
                                   camunda:expression="{'concerns': 'Nobody acted in a day'}" />
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="a_day" />
    <bpmn:sequenceFlow id="f1" sourceRef="a_day" targetRef="refer" />
    <bpmn:sequenceFlow id="f2" sourceRef="refer" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def clock():
    return FrozenClock(MONDAY)


@pytest.fixture
def app(db_url, clock):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    yield app
    app.extensions["safeguard"].db.dispose()


def _started_from(app, instance_id: str) -> list[tuple[str, str | None, str]]:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        query = select(
            ProcessInstance.process_key, ProcessInstance.business_key, ProcessInstance.status
        ).where(ProcessInstance.started_from == instance_id)
        return [tuple(row) for row in uow.session.execute(query)]


def test_a_referral_thrown_after_a_timer_starts_the_referral(app, clock):
    admin = admin_client(app)
    deployed = deploy_xml(admin, TIMED_REFERRAL)
    assert deployed.status_code == 201, deployed.get_json()
    assert deploy_xml(admin, (BPMN / "referral.bpmn").read_bytes()).status_code == 201
    make_user(app, "pat", ["practitioner"], agency="school")
    pat = token_client(app, "pat")
    started = pat.post(
        "/api/process-instances", json={"process_key": "timed_referral", "business_key": "child-9"}
    )
    assert started.status_code == 201, started.get_json()
    source = started.get_json()["id"]
    scheduler = start_scheduler(app)
    try:
        assert scheduler.fire_due() == 0
        assert _started_from(app, source) == []
        clock.advance(timedelta(days=1, minutes=1))
        assert scheduler.fire_due() == 1
    finally:
        scheduler.shutdown()
    assert pat.get(f"/api/process-instances/{source}").get_json()["state"] == "completed"
    assert _started_from(app, source) == [("referral", "child-9", "running")]
    # The source's starter owns the hand-off, as when a person's step throws it.
    mine = pat.get("/api/tasks", query_string={"view": "mine"}).get_json()["items"]
    assert [t["element_id"] for t in mine] == ["make_referral"]
