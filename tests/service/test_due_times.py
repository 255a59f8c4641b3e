"""Due times the service gives through the API: anchored to an earlier step, read off the
answers (issue 15, points 8 and 9), on both databases, on the app's clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from service.context import services
from storage import UnitOfWork
from storage.models import Task, Timer
from tests.diagrams.test_referral import NEGLECT, decide
from tests.diagrams.walking import BPMN
from tests.support.helpers import THREE_STEPS, deploy_xml, open_task_id

# Made Wed 2 Dec 2026; 45 working days after it, counting Thu 3 Dec as the first and skipping
# Fri 25 Dec, Mon 28 Dec (Boxing Day moved) and Fri 1 Jan: Mon 8 Feb 2027, 17:00 GMT
# (the day by day count is in tests/diagrams/test_timescales.py).
MADE = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
DECIDED_LATE = datetime(2026, 12, 9, 14, 0, tzinfo=UTC)  # a week later
ASSESSMENT_DUE = datetime(2027, 2, 8, 17, 0, tzinfo=UTC)


@pytest.fixture
def app(clocked_app):
    return clocked_app


@pytest.fixture
def people(client, client_for) -> dict:
    response = deploy_xml(client, (BPMN / "referral.bpmn").read_bytes(), "referral.bpmn")
    assert response.status_code == 201, response.get_json()
    return {
        "pat": client_for("pat", ["practitioner"], agency="school"),
        "colin": client_for("colin", ["csc"], agency="childrens_social_care"),
    }


def _refer(app, clock, people, business_key: str) -> str:
    """A referral made by pat at ``MADE``; the instance id."""
    clock.set(MADE)
    started = people["pat"].post(
        "/api/process-instances", json={"process_key": "referral", "business_key": business_key}
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    task_id = open_task_id(app, instance_id, "make_referral")
    done = people["pat"].post(f"/api/tasks/{task_id}/complete", json={"data": NEGLECT})
    assert done.status_code == 200, done.get_json()
    return instance_id


def _decide(app, people, instance_id: str, response: str, rating: str) -> None:
    task_id = open_task_id(app, instance_id, "decide_response")
    data = decide(response, rating).data
    done = people["colin"].post(f"/api/tasks/{task_id}/complete", json={"data": data})
    assert done.status_code == 200, done.get_json()


def _due(people, app, instance_id: str, element_id: str) -> datetime:
    task_id = open_task_id(app, instance_id, element_id)
    body = people["colin"].get(f"/api/tasks/{task_id}")
    assert body.status_code == 200, body.get_json()
    return datetime.fromisoformat(body.get_json()["due_at"].replace("Z", "+00:00"))


def test_the_assessment_clock_starts_at_the_referral_however_late_the_decision(app, clock, people):
    instance_id = _refer(app, clock, people, "child-45")
    clock.set(DECIDED_LATE)
    _decide(app, people, instance_id, "assessment", "green")

    assert _due(people, app, instance_id, "complete_assessment") == ASSESSMENT_DUE
    # the reminders and the overdue timer are counted from that due time, not from the decision
    task_id = open_task_id(app, instance_id, "complete_assessment")
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        due_timer = uow.session.scalars(
            select(Timer.due_at).where(Timer.task_id == task_id, Timer.kind == "task_due")
        ).one()
    assert due_timer == ASSESSMENT_DUE


def test_a_red_rating_makes_the_strategy_discussion_due_in_four_working_hours(app, clock, people):
    instance_id = _refer(app, clock, people, "child-red")
    clock.set(datetime(2026, 12, 9, 15, 0, tzinfo=UTC))  # Wed 9 Dec 2026, 15:00 GMT
    _decide(app, people, instance_id, "strategy_discussion", "red")
    # 15:00-17:00 Wednesday is 2 working hours; 2 more from 09:00 Thursday: Thu 10 Dec 11:00
    expected = datetime(2026, 12, 10, 11, 0, tzinfo=UTC)
    assert _due(people, app, instance_id, "strategy_discussion") == expected


def test_due_from_start_counts_from_when_the_case_started(app, clock, client, client_for):
    review = (
        'camunda:candidateGroups="manager" camunda:dueDate="2WD">\n      <bpmn:extensionElements>\n'
    )
    anchored = review + (
        '        <camunda:properties><camunda:property name="due_from" value="start" />'
        "</camunda:properties>\n"
    )
    content = THREE_STEPS.decode().replace(review, anchored, 1)
    assert content != THREE_STEPS.decode()
    assert deploy_xml(client, content.encode(), "three_steps.bpmn").status_code == 201
    pat = client_for("pat", ["practitioner"], agency="school")
    started = pat.post("/api/process-instances", json={"process_key": "three_steps"})
    assert started.status_code == 201, started.get_json()  # Mon 2 Mar 2026, 09:30 GMT
    instance_id = started.get_json()["id"]
    clock.set(datetime(2026, 3, 5, 10, 0, tzinfo=UTC))  # described on Thursday
    task_id = open_task_id(app, instance_id, "describe")
    done = pat.post(f"/api/tasks/{task_id}/complete", json={"data": {"concern": "bruising"}})
    assert done.status_code == 200, done.get_json()
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        review_task = uow.session.get(Task, open_task_id(app, instance_id, "review"))
        due_at = review_task.due_at
    # 2 working days from Mon 2 Mar: Tue 3 (1), Wed 4 (2), 17:00 GMT; already past, so overdue
    assert due_at == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
