"""Out-of-office: a practitioner marks themselves away on their account, naming a colleague; a
step that would come back to them by name goes to that colleague meanwhile, and the period is
recorded and audited. Also: a reminder names its case in the app, for those who may see it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.context import services
from service.trail import flush
from storage import UnitOfWork
from storage.away import AwayPeriod
from storage.models import AuditEvent, Task
from tasks import away, notify
from tests.support.helpers import start_instance, token_client
from tests.support.pages import assert_clean, csrf_of, school_team, sign_in


@pytest.fixture
def app(page_app):
    people = school_team(
        dee={"roles": ["dsl"], "agency": "school"},
        hal={"roles": ["practitioner"], "agency": "health"},
    )
    return page_app(people)


def _today() -> str:
    return away.day_of(datetime.now(UTC)).isoformat()


def _to_the_last_step(app) -> str:
    """pat describes a concern and mo approves it: the last step comes back to pat by name
    (``camunda:assignee="initiator"``); returns its id."""
    pat, mo = token_client(app, "pat"), token_client(app, "mo")
    (describe,) = start_instance(pat, business_key="child-7").get_json()["active_tasks"]
    done = pat.post(
        f"/api/tasks/{describe['id']}/complete", json={"data": {"concern": "x", "severity": 2}}
    )
    (review,) = done.get_json()["active_tasks"]
    assert mo.post(f"/api/tasks/{review['id']}/claim").status_code == 200
    done = mo.post(f"/api/tasks/{review['id']}/complete", json={"data": {"approved": True}})
    (act,) = done.get_json()["active_tasks"]
    return act["id"]


def test_a_step_for_someone_away_goes_to_their_cover(app):
    browser = sign_in(app, "pat")
    page = browser.get("/account/away")
    assert page.status_code == 200 and "You have no period away coming up." in page.text
    assert '<option value="sam">' in page.text
    assert '<option value="dee">' not in page.text  # no practitioner role
    assert '<option value="hal">' not in page.text  # another agency
    assert_clean(page)
    form = {"csrf_token": csrf_of(page), "starts_on": _today(), "ends_on": _today()}
    marked = browser.post("/account/away", data=form | {"cover": "sam"})
    assert marked.status_code == 302
    listed = browser.get("/account/away").text
    assert "covered by <strong>sam</strong>" in listed and "new steps go to sam" in listed

    act = _to_the_last_step(app)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        assert uow.session.get(Task, act).assignee == "sam"
        (period,) = uow.session.scalars(select(AwayPeriod)).all()
        assert period.recorded_by == "pat" and period.cancelled_at is None
    flush(app)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        event = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "away.mark")
        ).one()
        assert event.actor == "pat" and event.detail["cover"] == "sam"

    period_id = period.id
    token = csrf_of(browser.get("/account/away"))
    called_off = browser.post(f"/account/away/{period_id}/cancel", data={"csrf_token": token})
    assert called_off.status_code == 302
    assert "You have no period away coming up." in browser.get("/account/away").text
    again = _to_the_last_step(app)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        assert uow.session.get(Task, again).assignee == "pat"


def test_a_period_is_refused_naming_the_field(app):
    browser = sign_in(app, "pat")
    token = csrf_of(browser.get("/account/away"))
    yesterday = (away.day_of(datetime.now(UTC)) - timedelta(days=1)).isoformat()
    cases = [
        ({"starts_on": "soon", "ends_on": _today(), "cover": "sam"}, "starts_on", "Enter a date"),
        ({"starts_on": _today(), "ends_on": yesterday, "cover": "sam"}, "ends_on", "not be before"),
        ({"starts_on": _today(), "ends_on": _today(), "cover": "hal"}, "cover", "holds your roles"),
        ({"starts_on": _today(), "ends_on": _today(), "cover": "pat"}, "cover", "holds your roles"),
    ]
    for fields, field, words in cases:
        answer = browser.post("/account/away", data={"csrf_token": token, **fields})
        assert answer.status_code == 422, fields
        assert f'id="error-{field}">' in answer.text and words in answer.text
    assert browser.post("/account/away", data={"csrf_token": token, "starts_on": _today(),
                        "ends_on": _today(), "cover": "sam"}).status_code == 302  # fmt: skip
    overlap = browser.post(
        "/account/away",
        data={"csrf_token": token, "starts_on": _today(), "ends_on": _today(), "cover": "sam"},
    )
    assert overlap.status_code == 422 and "already away" in overlap.text
    # Someone else's period cannot be called off, and looks like none at all.
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        period_id = uow.session.scalars(select(AwayPeriod.id)).one()
    sam = sign_in(app, "sam")
    other = sam.post(
        f"/account/away/{period_id}/cancel", data={"csrf_token": csrf_of(sam.get("/"))}
    )
    assert other.status_code == 404


def test_a_reminder_names_its_case_for_those_who_may_see_it(app):
    pat = token_client(app, "pat")
    (task,) = start_instance(pat, business_key="child-5").get_json()["active_tasks"]
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.get(Task, task["id"])
        for who in ("pat", "hal"):
            notify.notify(
                uow.session, [who], "escalation", "Escalation: 'Describe the concern' is overdue",
                datetime.now(UTC), task_id=row.id, instance_id=row.instance_id, link="/inbox",
            )  # fmt: skip
        uow.commit()
    mine = sign_in(app, "pat").get("/notifications")
    assert "Case: three steps" in mine.text and "<strong>child-5</strong>" in mine.text
    assert_clean(mine)
    theirs = sign_in(app, "hal").get("/notifications").text
    assert "Describe the concern" in theirs and "child-5" not in theirs and "Case:" not in theirs
