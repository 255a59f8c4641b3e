"""The manager's inbox and notifications over HTTP, fed by real timers and a real SMTP server.

The app runs on the system clock (bearer tokens must stay valid); the timer scheduler runs on a
frozen clock of its own that the test moves, starting from the app's "now".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.app import create_app
from service.context import services
from service.reminders import timer_handlers
from storage import UnitOfWork
from storage.models import Escalation, Task, Timer
from tasks import reminders
from tasks.scheduler import TimerScheduler
from tests.support.helpers import assert_error, start_instance
from tests.support.smtp_sink import SmtpSink
from workflows.clock import FrozenClock

CHILD = "CHILD-9120"
SECRET = "Sam's address is 4 Oak Lane"
BASE = "https://sf.example"


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def app(db_url, smtp):
    app = create_app(
        {"DATABASE_URL": db_url, "TESTING": True, "SMTP_URL": smtp.url, "BASE_URL": BASE}
    )
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture
def case(app, client, client_for, deployed):
    """A started case whose first task pat holds, due in two days; managers maya and mike."""
    people = {
        "maya": client_for("maya", ["manager"], agency="school", email="maya@example.test"),
        "mike": client_for("mike", ["manager"], agency="health", email="mike@example.test"),
        "pat": client_for(
            "pat", ["practitioner"], agency="school", manager="maya", email="pat@example.test"
        ),
    }
    response = start_instance(client, business_key=CHILD, variables={"note": SECRET})
    assert response.status_code == 201, response.get_json()
    instance = response.get_json()
    (task,) = instance["active_tasks"]
    t0 = datetime.now(UTC).replace(microsecond=0)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.get(Task, task["id"])
        row.assignee, row.created_at, row.due_at = "pat", t0, t0 + timedelta(days=2)
        reminders.schedule_for_task(uow.session, row, t0)
        uow.commit()
    clock = FrozenClock(t0)
    with app.app_context():
        scheduler = TimerScheduler(services().session_factory, clock, timer_handlers(app))
    return {"t0": t0, "clock": clock, "scheduler": scheduler, "task_id": task["id"], **people}


def test_a_reminder_reaches_the_assignee_by_email_and_in_the_app(case, smtp):
    case["clock"].advance(timedelta(days=1))
    assert case["scheduler"].fire_due() == 1
    ((to, message),) = smtp.received()
    assert to == ["pat@example.test"]
    text = message["Subject"] + SmtpSink.text(message)
    assert "Describe the concern" in text and f"{BASE}/tasks/{case['task_id']}" in text
    assert CHILD not in text and SECRET not in text

    listed = case["pat"].get("/api/notifications").get_json()
    (item,) = listed["items"]
    assert listed["next_cursor"] is None
    assert (item["kind"], item["task_id"], item["read_at"]) == ("reminder", case["task_id"], None)
    assert item["link"] == f"/tasks/{case['task_id']}" and item["emailed_at"]

    assert_error(case["maya"].post(f"/api/notifications/{item['id']}/read"), 404, "not_found")
    read = case["pat"].post(f"/api/notifications/{item['id']}/read")
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert case["pat"].get("/api/notifications?unread=true").get_json()["items"] == []
    assert case["maya"].get("/api/notifications").get_json()["items"] == []


def test_reminders_sent_are_counted_in_the_metrics(case, anonymous):
    case["clock"].advance(timedelta(days=1))
    case["scheduler"].fire_due()
    text = anonymous.get("/metrics").get_data(as_text=True)
    assert 'safeguard_reminders_sent_total{channel="email"} 1.0' in text
    assert 'safeguard_reminders_sent_total{channel="in_app"} 1.0' in text


def test_notifications_are_paginated_newest_first(case):
    case["clock"].advance(timedelta(days=2))
    case["scheduler"].fire_due()
    first = case["pat"].get("/api/notifications?limit=2").get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = case["pat"].get(f"/api/notifications?limit=2&cursor={first['next_cursor']}").get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    times = [i["created_at"] for i in first["items"] + rest["items"]]
    assert times == sorted(times, reverse=True)


def test_overdue_work_shows_in_its_managers_inbox_only(case, smtp):
    case["clock"].advance(timedelta(days=2))
    case["scheduler"].fire_due()
    (item,) = case["maya"].get("/api/escalations").get_json()["items"]
    assert item["kind"] == "overdue_task"
    assert (item["task_id"], item["task_name"], item["assignee"]) == (
        case["task_id"],
        "Describe the concern",
        "pat",
    )
    assert item["links"] == {
        "task": f"/tasks/{case['task_id']}",
        "api": f"/api/tasks/{case['task_id']}",
    }
    assert item["due_at"] and item["since"]
    assert case["mike"].get("/api/escalations").get_json()["items"] == []
    assert_error(case["pat"].get("/api/escalations"), 403, "forbidden")
    assert "maya@example.test" in [to[0] for to, _ in smtp.received()]


def test_extending_the_due_time_needs_a_reason_and_clears_the_inbox(app, case):
    case["clock"].advance(timedelta(days=2))
    case["scheduler"].fire_due()
    url = f"/api/tasks/{case['task_id']}/extend"
    new_due = (case["t0"] + timedelta(days=5)).isoformat()

    error = assert_error(case["maya"].post(url, json={"due_at": new_due}), 422)
    assert [d["field"] for d in error["details"]] == ["reason"]
    error = assert_error(case["maya"].post(url, json={"due_at": new_due, "reason": "  "}), 422)
    assert [d["field"] for d in error["details"]] == ["reason"]
    for bad in ("2026-01-01T10:00:00", (case["t0"] - timedelta(days=1)).isoformat(), "soon"):
        error = assert_error(case["maya"].post(url, json={"due_at": bad, "reason": "r"}), 422)
        assert [d["field"] for d in error["details"]] == ["due_at"]
    assert_error(case["mike"].post(url, json={"due_at": new_due, "reason": "r"}), 404)

    reason = "waiting for the school nurse"
    response = case["maya"].post(url, json={"due_at": new_due, "reason": reason})
    assert response.status_code == 200, response.get_json()
    assert datetime.fromisoformat(response.get_json()["due_at"]) == case["t0"] + timedelta(days=5)
    assert case["maya"].get("/api/escalations").get_json()["items"] == []

    info = [
        n for n in case["pat"].get("/api/notifications").get_json()["items"] if n["kind"] == "info"
    ]
    assert len(info) == 1 and reason in info[0]["body"] and reason not in info[0]["title"]
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        pending = uow.session.scalars(
            select(Timer.due_at)
            .where(Timer.task_id == case["task_id"], Timer.status == "pending")
            .order_by(Timer.due_at, Timer.kind)
        ).all()
    assert [t.isoformat() for t in pending] == [
        (case["t0"] + timedelta(days=2.5)).isoformat(),
        (case["t0"] + timedelta(days=5)).isoformat(),
        (case["t0"] + timedelta(days=5)).isoformat(),
    ]

    case["clock"].set(case["t0"] + timedelta(days=5))
    case["scheduler"].fire_due()
    (again,) = case["maya"].get("/api/escalations").get_json()["items"]
    resolve = f"/api/escalations/{again['id']}/resolve"
    assert_error(case["mike"].post(resolve, json={"resolution": "x"}), 404)
    assert_error(case["maya"].post(resolve, json={}), 422)
    done = case["maya"].post(resolve, json={"resolution": "spoke to pat; done today"})
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["resolved_by"]) == ("resolved", "maya")
    assert_error(case["maya"].post(resolve, json={"resolution": "again"}), 409, "conflict")
    assert case["maya"].get("/api/escalations").get_json()["items"] == []


def test_escalations_are_paginated_and_an_admin_sees_them_all(app, case, client):
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        for n in range(3):
            uow.session.add(
                Escalation(
                    kind="advice_request",
                    manager_username="maya",
                    since=case["t0"] + timedelta(minutes=n),
                    status="open",
                )
            )
        uow.commit()
    first = case["maya"].get("/api/escalations?limit=2").get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = case["maya"].get(f"/api/escalations?limit=2&cursor={first['next_cursor']}").get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert len(client.get("/api/escalations").get_json()["items"]) == 3
    assert case["mike"].get("/api/escalations").get_json()["items"] == []


def test_a_closed_task_leaves_nothing_in_the_inbox(app, case, smtp):
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        uow.session.get(Task, case["task_id"]).status = "completed"
        reminders.cancel_for_task(uow.session, case["task_id"], case["t0"])
        uow.commit()
    case["clock"].advance(timedelta(days=3))
    assert case["scheduler"].fire_due() == 0
    assert smtp.received() == []
    assert case["maya"].get("/api/escalations").get_json()["items"] == []


def test_reassigning_overdue_work_clears_the_inbox(app, case, client_for):
    sam = client_for("sam", ["practitioner"], agency="school", manager="maya")
    case["clock"].advance(timedelta(days=2))
    case["scheduler"].fire_due()
    assert len(case["maya"].get("/api/escalations").get_json()["items"]) == 1
    given = case["maya"].post(f"/api/tasks/{case['task_id']}/assign", json={"user": "sam"})
    assert given.status_code == 200, given.get_json()
    assert case["maya"].get("/api/escalations").get_json()["items"] == []
    assert [t["id"] for t in sam.get("/api/tasks?view=mine").get_json()["items"]] == [
        case["task_id"]
    ]
