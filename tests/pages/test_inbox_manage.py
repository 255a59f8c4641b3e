"""A manager acts on what the inbox shows: filters and order, the team view, several steps
given at once (each checked like a single reassignment, reported one by one), and an overdue
DSL step that reaches the agency's DSLs rather than a line manager who could not move it.

The app runs on the system clock; work is made overdue by moving its due time into the past,
and the overdue escalation is raised by the timer handler's own function
(``reminders.escalate_overdue``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.context import services
from storage import UnitOfWork
from storage.models import AuditEvent, Escalation, Notification, Task, TaskCandidate
from tasks import reminders
from tests.support.helpers import start_instance, token_client
from tests.support.pages import assert_clean, csrf_of, school_team, sign_in


@pytest.fixture
def app(page_app):
    people = school_team(
        dana={"roles": ["dsl"], "agency": "school", "manager": "mo"},  # mo: her line manager
        dee={"roles": ["dsl"], "agency": "school"},  # the lead DSL
        hal={"roles": ["practitioner"], "agency": "health"},
        eve={"roles": ["manager"], "agency": "health"},
    )
    return page_app(people)


def _case(app, holder: str, business_key: str, days_late: int | None, roles=None) -> str:
    """A three_steps task held by ``holder``, ``days_late`` days late (None: due next week),
    escalated as the due timer does; ``roles``: the step's candidate roles instead."""
    starter = token_client(app, holder if roles is None else "pat")
    started = start_instance(starter, business_key=business_key).get_json()
    (task,) = started["active_tasks"]
    now = datetime.now(UTC)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.get(Task, task["id"])
        if roles is not None:
            row.candidate_roles = roles
            uow.session.query(TaskCandidate).filter_by(task_id=row.id).delete()
            uow.session.add_all(TaskCandidate(task_id=row.id, role=r) for r in roles)
        row.assignee = holder
        row.due_at = now + timedelta(days=7 if days_late is None else -days_late)
        uow.session.flush()
        if days_late is not None:
            reminders.escalate_overdue(uow, row, now, row.name, "then", lambda *a, **k: None)
        uow.commit()
    return task["id"]


def _task(app, task_id: str) -> Task:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.get(Task, task_id)
        uow.session.expunge(row)
        return row


def _items(html: str) -> list[str]:
    return re.findall(r'<li class="task[^"]*" id="item-([^"]+)"', html)


def test_the_inbox_filters_and_sorts_and_refuses_a_value_it_does_not_offer(app):
    late = _case(app, "pat", "child-1", days_late=3)
    later = _case(app, "sam", "child-2", days_late=7)
    browser = sign_in(app, "mo")
    page = browser.get("/inbox")
    assert _items(page.text) == [later, late]  # the longest overdue first
    assert_clean(page)
    by_holder = browser.get("/inbox?sort=holder").text
    assert _items(by_holder) == [late, later]  # pat before sam
    advice_only = browser.get("/inbox?kind=advice").text
    assert _items(advice_only) == [] and "Overdue work of my team" not in advice_only
    assert "No advice request matches the filter." in advice_only
    assert _items(browser.get("/inbox?step=Review+the+concern").text) == []
    assert _items(browser.get("/inbox?step=Describe+the+concern&overdue=yes").text) == [later, late]
    bad = browser.get("/inbox?kind=everything")
    assert bad.status_code == 422
    assert 'id="error-kind-filters"' in bad.text and "for kind" in bad.text
    assert browser.get("/inbox?sort=" + "x" * 5000).status_code == 422


def test_the_team_view_lists_all_open_work_of_my_team(app):
    late = _case(app, "pat", "child-1", days_late=2)
    fresh = _case(app, "sam", "child-2", days_late=None)
    theirs = _case(app, "hal", "child-3", days_late=None)  # not in mo's team
    browser = sign_in(app, "mo")
    inbox = browser.get("/inbox").text
    assert fresh not in _items(inbox)  # not overdue: the inbox proper leaves it out
    team = browser.get("/inbox?view=team")
    assert team.status_code == 200 and re.search(
        r"Open work of my team <span class=\"count\">\(2\)", team.text
    )
    assert _items(team.text) == [late, fresh] and theirs not in team.text
    assert "child-2" in team.text
    assert _items(browser.get("/inbox?view=team&overdue=yes").text) == [late]
    assert_clean(team)
    assert sign_in(app, "pat").get("/inbox?view=team").status_code == 403


def test_a_manager_gives_several_steps_to_one_person_at_once(app):
    first = _case(app, "pat", "child-1", days_late=3)
    second = _case(app, "pat", "child-2", days_late=4)
    browser = sign_in(app, "mo")
    page = browser.get("/inbox?sort=holder")
    token = csrf_of(page)
    form = {"csrf_token": token, "user": "sam", "task": [first, second], "sort": "holder"}
    form |= {f"version-{t}": str(_task(app, t).version) for t in (first, second)}
    no_token = browser.post(
        "/inbox/reassign", data={k: v for k, v in form.items() if k != "csrf_token"}
    )
    assert no_token.status_code == 400 and _task(app, first).assignee == "pat"
    given = browser.post("/inbox/reassign", data=form)
    assert given.status_code == 302 and given.headers["Location"] == "/inbox?sort=holder"
    assert {_task(app, first).assignee, _task(app, second).assignee} == {"sam"}
    assert "2 steps now with sam" in browser.get("/inbox").text
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        open_items = uow.session.scalars(select(Escalation).where(Escalation.status == "open"))
        assert list(open_items) == []
        trail = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "inbox.reassign_one")
        ).all()
        assert sorted(e.case_key for e in trail) == ["child-1", "child-2"]
        assert {e.actor for e in trail} == {"mo"}


def test_each_step_is_checked_on_its_own_and_reported(app):
    ok = _case(app, "pat", "child-1", days_late=3)
    stale = _case(app, "pat", "child-2", days_late=4)
    elsewhere = _case(app, "hal", "child-3", days_late=2)  # health's: mo may not see it
    browser = sign_in(app, "mo")
    token = csrf_of(browser.get("/inbox"))
    versions = {t: str(_task(app, t).version) for t in (ok, stale, elsewhere)}
    assert token_client(app, "pat").post(f"/api/tasks/{stale}/unclaim").status_code == 200
    form = {"csrf_token": token, "user": "sam", "task": [ok, stale, elsewhere]}
    answer = browser.post(
        "/inbox/reassign", data=form | {f"version-{t}": v for t, v in versions.items()}
    )
    assert answer.status_code == 409  # the step pat let go of meanwhile
    html = answer.text
    assert "What became of each step" in html and "is now with sam" in html
    assert "reload it" in html and "This step is not there any more" in html
    assert "child-3" not in html  # nothing of the other agency's case is shown
    assert _task(app, ok).assignee == "sam"
    assert _task(app, stale).assignee is None and _task(app, elsewhere).assignee == "hal"
    assert_clean(answer)

    token = csrf_of(browser.get("/inbox"))
    stale_version = str(_task(app, stale).version)
    nobody_fit = browser.post(
        "/inbox/reassign",
        data={
            "csrf_token": token,
            "user": "hal",
            "task": [stale],
            f"version-{stale}": stale_version,
        },
    )
    assert nobody_fit.status_code == 422  # hal is neither in mo's team nor in the school
    assert "hal is neither in your team nor in your agency" in nobody_fit.text
    assert _task(app, stale).assignee is None


def test_a_bulk_request_without_a_person_or_a_step_names_the_field(app):
    task = _case(app, "pat", "child-1", days_late=3)
    browser = sign_in(app, "mo")
    token = csrf_of(browser.get("/inbox"))
    no_user = browser.post(
        "/inbox/reassign", data={"csrf_token": token, "task": [task], f"version-{task}": "1"}
    )
    assert (
        no_user.status_code == 422
        and 'id="error-user-bulk">Choose who should do them' in no_user.text
    )
    no_task = browser.post("/inbox/reassign", data={"csrf_token": token, "user": "sam"})
    assert (
        no_task.status_code == 422 and 'id="error-task-bulk">Tick at least one step' in no_task.text
    )
    bad_version = browser.post(
        "/inbox/reassign",
        data={"csrf_token": token, "user": "sam", "task": [task], f"version-{task}": "x"},
    )
    assert bad_version.status_code == 422 and "reload it" in bad_version.text
    assert _task(app, task).assignee == "pat"
    pat = sign_in(app, "pat")
    refused = pat.post("/inbox/reassign", data={"csrf_token": csrf_of(pat.get("/"))})
    assert refused.status_code == 403


def test_a_late_dsl_step_goes_to_the_agencys_dsls_who_can_move_it(app):
    """The DSL's late step does not land with her line manager, who holds no dsl role and
    could give it to nobody; the lead DSL gets it, may open it and give it to another DSL."""
    task = _case(app, "dana", "child-9", days_late=2, roles=["dsl"])
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        (item,) = uow.session.scalars(select(Escalation)).all()
        assert (item.manager_username, item.role, item.agency) == (None, "dsl", "school")
        told = uow.session.scalars(
            select(Notification.username).where(Notification.kind == "escalation")
        )
        assert sorted(told) == ["dee"]  # not mo, and not dana herself
    assert f"item-{task}" not in sign_in(app, "mo").get("/inbox").text
    assert f"item-{task}" not in sign_in(app, "dana").get("/inbox").text
    dee = sign_in(app, "dee")
    inbox = dee.get("/inbox")
    assert f"item-{task}" in inbox.text and "held by dana" in inbox.text
    assert dee.get(f"/tasks/{task}").status_code == 200
    given = dee.post(
        f"/inbox/tasks/{task}/assign", data={"csrf_token": csrf_of(inbox), "user": "dee"}
    )
    assert given.status_code == 302 and _task(app, task).assignee == "dee"
    # Once moved, the item is closed and she is the holder: nothing else opened up to anyone.
    assert token_client(app, "eve").get(f"/api/tasks/{task}").status_code == 404
