"""BPMN timer events of instances started through the service fire from the timers table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.app import create_app
from service.scheduling import start_scheduler
from tests.conftest import fixture_bytes
from tests.support.helpers import admin_client, deploy_xml
from workflows.clock import FrozenClock

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FrozenClock(START)


@pytest.fixture
def app(db_url, clock):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    yield app
    app.extensions["safeguard"].db.dispose()


def test_an_interrupting_timer_moves_the_instance_on_when_due(app, clock):
    client = admin_client(app)
    assert deploy_xml(client, fixture_bytes("timer_escalation.bpmn")).status_code == 201
    started = client.post(
        "/api/process-instances", json={"process_key": "timer_escalation", "business_key": "c1"}
    ).get_json()
    scheduler = start_scheduler(app)
    try:
        assert client.get("/healthz").get_json()["scheduler"] == "ok"
        assert scheduler.armed_at is not None  # woken for the timer written at start
        clock.advance(timedelta(days=1, hours=23))
        assert scheduler.fire_due() == 0
        url = f"/api/process-instances/{started['id']}"
        assert [t["element_id"] for t in client.get(url).get_json()["active_tasks"]] == ["review"]
        clock.advance(timedelta(hours=1))
        assert scheduler.fire_due() == 1
        body = client.get(url).get_json()
        assert [t["element_id"] for t in body["active_tasks"]] == ["escalate"]
        assert scheduler.fire_due() == 0  # exactly once
    finally:
        scheduler.shutdown()
    assert client.get("/healthz").get_json()["scheduler"] == "down"
