"""The manager's inbox page in the Flask test client: who may open it, what it lists, and
reassigning, extending and closing from it with CSRF-protected forms.

The app runs on the system clock (sessions must stay valid); work is made overdue by moving
its due time into the past in the database, and an overdue escalation is raised as the timer
handler would raise it (``tasks.inbox.raise_item``): the timers themselves are tested in
tests/service/test_escalations_api.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from service.context import services
from storage import UnitOfWork
from storage.models import Escalation, Notification, Task
from tasks import inbox
from tests.support.helpers import start_instance, token_client
from tests.support.pages import assert_clean, csrf_of, sign_in

SHIPPED = Path(__file__).resolve().parents[2] / "bpmn" / "information_sharing.bpmn"
ESCALATION = SHIPPED.with_name("escalation.bpmn")


@pytest.fixture
def app(page_app):
    school = {"agency": "school", "manager": "mo"}
    people = {
        "mo": {"roles": ["manager"], "agency": "school"},
        "pat": {"roles": ["practitioner"], **school},
        "sam": {"roles": ["practitioner"], **school},
        "bo": {"roles": ["board"], "agency": "partnership", "manager": "mo", "password": None},
    }
    return page_app(people, shipped=("information_sharing", "escalation"))


def _overdue_task(app, business_key: str = "child-1", days_late: int = 7) -> str:
    """A three_steps task held by pat, due ``days_late`` days ago, escalated to mo."""
    pat = token_client(app, "pat")
    started = start_instance(pat, business_key=business_key).get_json()
    (task,) = started["active_tasks"]
    assert pat.post(f"/api/tasks/{task['id']}/claim").status_code == 200
    now = datetime.now(UTC)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.get(Task, task["id"])
        row.due_at = now - timedelta(days=days_late)
        inbox.raise_item(
            uow.session,
            "overdue_task",
            now,
            task_id=row.id,
            instance_id=row.instance_id,
            manager_username="mo",
        )
        uow.commit()
    return task["id"]


def _task(app, task_id: str) -> Task:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.get(Task, task_id)
        uow.session.expunge(row)
        return row


def test_a_practitioner_is_refused_the_inbox_with_an_error_page(app):
    task_id = _overdue_task(app)
    browser = sign_in(app, "pat")
    page = browser.get("/inbox")
    assert page.status_code == 403 and page.mimetype == "text/html"
    html = page.text
    assert "You do not have access to this" in html and "Traceback" not in html
    assert 'href="/inbox"' not in html  # no Inbox link in the header either
    assert_clean(page)
    token = csrf_of(browser.get("/"))
    refused = browser.post(
        f"/inbox/tasks/{task_id}/assign", data={"csrf_token": token, "user": "pat"}
    )
    assert refused.status_code == 403
    assert _task(app, task_id).assignee == "pat"


def test_the_inbox_lists_overdue_work_of_the_team(app):
    task_id = _overdue_task(app)
    browser = sign_in(app, "mo")
    home = browser.get("/").text
    assert 'href="/inbox"' in home
    page = browser.get("/inbox")
    assert page.status_code == 200
    html = page.text
    section = html[html.index("Overdue work of my team") : html.index("Disagreements at my stage")]
    assert f'href="/tasks/{task_id}"' in section and "held by pat" in section
    assert re.search(r"\d working days late", section) and 'class="task overdue"' in section
    assert '<option value="sam">sam (sam)</option>' in section
    assert '<option value="pat">' not in section  # already holds it
    assert '<option value="bo">' not in section  # a board member cannot do a practitioner's step
    assert_clean(page)


def test_reassign_from_the_inbox(app):
    task_id = _overdue_task(app)
    browser = sign_in(app, "mo")
    token = csrf_of(browser.get("/inbox"))
    no_token = browser.post(f"/inbox/tasks/{task_id}/assign", data={"user": "sam"})
    assert no_token.status_code == 400 and no_token.mimetype == "text/html"
    assert _task(app, task_id).assignee == "pat"

    nobody = browser.post(f"/inbox/tasks/{task_id}/assign", data={"csrf_token": token, "user": ""})
    assert nobody.status_code == 422
    assert f'id="error-user-{task_id}">Choose who should do it</p>' in nobody.text
    board = browser.post(f"/inbox/tasks/{task_id}/assign", data={"csrf_token": token, "user": "bo"})
    assert board.status_code == 422 and "bo cannot do this task" in board.text

    given = browser.post(
        f"/inbox/tasks/{task_id}/assign", data={"csrf_token": token, "user": "sam"}
    )
    assert given.status_code == 302 and given.headers["Location"] == "/inbox"
    assert _task(app, task_id).assignee == "sam"
    after = browser.get("/inbox").text
    assert "is now with sam" in after
    assert "held by sam" in after  # still overdue, and still the team's: it stays listed
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        escalation = uow.session.scalars(select(Escalation)).one()
        assert escalation.status == "resolved" and escalation.resolution == "reassigned to sam"


def test_extend_from_the_inbox_needs_a_future_date_and_a_reason(app):
    task_id = _overdue_task(app)
    browser = sign_in(app, "mo")
    token = csrf_of(browser.get("/inbox"))
    past = browser.post(
        f"/inbox/tasks/{task_id}/extend",
        data={"csrf_token": token, "due_date": "2020-01-06", "reason": "Off sick"},
    )
    assert past.status_code == 422
    assert f'id="error-due_date-{task_id}">Enter a date in the future' in past.text
    assert 'value="Off sick"' in past.text  # what was typed is kept
    later = (date.today() + timedelta(days=10)).isoformat()
    no_reason = browser.post(
        f"/inbox/tasks/{task_id}/extend",
        data={"csrf_token": token, "due_date": later, "reason": " "},
    )
    assert no_reason.status_code == 422 and "Say why it needs more time" in no_reason.text
    given = browser.post(
        f"/inbox/tasks/{task_id}/extend",
        data={"csrf_token": token, "due_date": later, "reason": "Off sick"},
    )
    assert given.status_code == 302
    task = _task(app, task_id)
    assert task.due_at > datetime.now(UTC) + timedelta(days=8)
    assert "Now due" in browser.get("/inbox").text
    pat = sign_in(app, "pat").get("/notifications").text
    assert "New due time set by mo. Reason: Off sick" in pat


def test_advice_requests_show_in_the_inbox_of_a_manager_of_the_agency(app):
    pat = token_client(app, "pat")
    started = start_instance(pat, "information_sharing", business_key="child-2").get_json()
    (describe,) = started["active_tasks"]
    answers = {
        "information": "Attendance record",
        "recipient_agency": "health",
        "purpose": "Health assessment",
        "legitimate_purpose": "unsure",
        "identifies_living_person": False,
        "confidential": False,
    }
    done = pat.post(f"/api/tasks/{describe['id']}/complete", json={"data": answers})
    assert done.status_code == 200, done.get_json()
    (check,) = done.get_json()["active_tasks"]  # asked for every request (safeguarding first)
    no_concern = {
        "significant_harm": False,
        "prevent_serious_crime": False,
        "cse_concern": False,
        "child_age": 11,
        "sexual_activity": False,
        "consent_unsafe": False,
        "in_doubt": False,
    }
    done = pat.post(f"/api/tasks/{check['id']}/complete", json={"data": no_concern})
    assert done.status_code == 200, done.get_json()
    (advice,) = done.get_json()["active_tasks"]
    assert advice["element_id"] == "give_advice"
    html = sign_in(app, "mo").get("/inbox").text
    section = html[html.index("Advice requests") :]
    assert f'href="/tasks/{advice["id"]}"' in section and "child-2" in section


def test_a_disagreement_not_resolved_at_stage_1_reaches_the_managers_inbox(app):
    pat = token_client(app, "pat")
    started = start_instance(pat, "escalation", business_key="child-3").get_json()
    (describe,) = started["active_tasks"]
    answers = {
        "other_agency": "health",
        "disputed": "Whether the threshold for a referral is met",
        "wanted_outcome": "A referral",
        "immediate_risk": False,
    }
    done = pat.post(f"/api/tasks/{describe['id']}/complete", json={"data": answers})
    (stage1,) = done.get_json()["active_tasks"]
    not_resolved = {"resolved": False, "resolution": "We could not agree"}
    done = pat.post(f"/api/tasks/{stage1['id']}/complete", json={"data": not_resolved})
    (stage2,) = done.get_json()["active_tasks"]
    assert stage2["element_id"] == "resolve_stage2"
    html = sign_in(app, "mo").get("/inbox").text
    section = html[html.index("Disagreements at my stage") : html.index("Advice requests")]
    assert f'href="/tasks/{stage2["id"]}"' in section and "Resolve between managers" in section


def test_an_escalation_without_open_work_is_closed_with_a_note(app):
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = inbox.raise_item(
            uow.session, "disagreement", datetime.now(UTC), manager_username="mo"
        )
        uow.commit()
        escalation_id = row.id
    browser = sign_in(app, "mo")
    page = browser.get("/inbox")
    assert "Other items" in page.text and "disagreement" in page.text
    token = csrf_of(page)
    empty = browser.post(f"/inbox/escalations/{escalation_id}/resolve", data={"csrf_token": token})
    assert empty.status_code == 422 and "Write what was done" in empty.text
    closed = browser.post(
        f"/inbox/escalations/{escalation_id}/resolve",
        data={"csrf_token": token, "resolution": "Agreed by phone"},
    )
    assert closed.status_code == 302
    assert "Other items" not in browser.get("/inbox").text
    other = sign_in(app, "pat")
    assert other.get("/inbox").status_code == 403
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        assert uow.session.scalars(select(Notification)).all() == []
