"""My work's filters, the unread-reminders badge and the reminders page, and the HTML error
pages, in the Flask test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from service.access import access
from service.app import create_app
from service.context import services
from storage import UnitOfWork
from storage.models import Task
from tasks import notify
from tests.support.helpers import start_instance, token_client
from tests.support.pages import assert_clean, csrf_of, sign_in


@pytest.fixture
def app(page_app):
    school = {"roles": ["practitioner"], "agency": "school"}
    return page_app({"pat": school, "olly": school}, shipped=("information_sharing",))


def _start(app, key: str, business_key: str, due_in: timedelta) -> str:
    pat = token_client(app, "pat")
    started = start_instance(pat, key, business_key=business_key).get_json()
    task_id = started["active_tasks"][0]["id"]
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        uow.session.get(Task, task_id).due_at = datetime.now(UTC) + due_in
        uow.commit()
    return task_id


def test_my_work_filters_by_process_and_status_without_javascript(app):
    late = _start(app, "three_steps", "child-1", -timedelta(days=8))
    soon = _start(app, "three_steps", "child-2", timedelta(hours=3))
    other = _start(app, "information_sharing", "child-3", timedelta(days=20))
    browser = sign_in(app)
    page = browser.get("/")
    html = page.text
    assert '<form method="get" action="/" class="filters"' in html
    assert '<label for="filter-process">Process</label>' in html
    assert '<label for="filter-status">Status</label>' in html
    # Soonest due first: the late one, then the one due soon, then the other.
    assert (
        html.index(f"/tasks/{late}") < html.index(f"/tasks/{soon}") < html.index(f"/tasks/{other}")
    )
    assert 'class="task overdue"' in html and "working days late" in html
    assert 'class="task due-soon"' in html and re.search(r"due in [23] h", html)
    assert_clean(page)

    only_three = browser.get("/?process=three_steps").text
    assert f"/tasks/{late}" in only_three and f"/tasks/{other}" not in only_three
    assert '<option value="three_steps" selected>' in only_three
    overdue = browser.get("/?status=overdue").text
    assert f"/tasks/{late}" in overdue and f"/tasks/{soon}" not in overdue
    due_soon = browser.get("/?status=due_soon&process=three_steps").text
    assert f"/tasks/{soon}" in due_soon and f"/tasks/{late}" not in due_soon
    later = browser.get("/?status=later").text
    assert f"/tasks/{other}" in later and f"/tasks/{soon}" not in later
    nothing = browser.get("/?process=information_sharing&status=overdue").text
    assert "Nothing to claim matches the filter." in nothing
    ignored = browser.get("/?process=nope&status=whatever")
    assert ignored.status_code == 200 and f"/tasks/{late}" in ignored.text


def _notify(app, username: str, title: str) -> str:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        (row,) = notify.notify(
            uow.session, [username], "reminder", title, datetime.now(UTC), link="/tasks/x"
        )
        uow.commit()
        return row.id


def test_the_badge_counts_unread_reminders_and_the_page_marks_them_read(app):
    first = _notify(app, "pat", "'Describe the concern' is due soon")
    _notify(app, "pat", "'Review' is overdue")
    theirs = _notify(app, "olly", "'Review' is due soon")
    browser = sign_in(app)
    home = browser.get("/").text
    assert '<span class="badge">2</span><span class="visually-hidden"> unread</span>' in home
    page = browser.get("/notifications")
    assert page.status_code == 200 and page.text.count('class="notification unread') == 2
    assert_clean(page)
    token = csrf_of(page)
    assert browser.post(f"/notifications/{first}/read").status_code == 400  # no CSRF token
    read = browser.post(f"/notifications/{first}/read", data={"csrf_token": token})
    assert read.status_code == 302
    assert '<span class="badge">1</span>' in browser.get("/").text
    assert (
        browser.post(f"/notifications/{theirs}/read", data={"csrf_token": token}).status_code == 404
    )
    assert browser.post("/notifications/read", data={"csrf_token": token}).status_code == 302
    assert 'class="badge"' not in browser.get("/").text
    assert '<span class="badge">1</span>' in sign_in(app, "olly").get("/").text


@pytest.fixture
def failing_app(app, db_url):
    """A second app on the same database with one route that fails (before any request)."""

    @access(public=True)
    def boom():
        raise RuntimeError("secret detail")

    second = create_app({"DATABASE_URL": db_url, "TESTING": True})
    second.add_url_rule("/boom", "boom", boom)
    yield second
    second.extensions["safeguard"].db.dispose()


def test_page_routes_answer_errors_in_html_and_the_api_in_json(app, failing_app):
    browser = sign_in(failing_app)
    for path, status, words in (
        ("/nowhere", 404, "Not found"),
        ("/tasks/not-a-task", 404, "Not found"),
        ("/boom", 500, "Something went wrong on our side"),
    ):
        page = browser.get(path)
        assert page.status_code == status and page.mimetype == "text/html", path
        assert words in page.text and "Traceback" not in page.text
        assert "secret detail" not in page.text
        if path != "/nowhere":  # (an unknown URL has no access rule that reads the session)
            assert "Signed in as pat" in page.text  # the site's layout, header included
        assert_clean(page)
    wrong_method = browser.put("/")
    assert wrong_method.status_code == 405 and "That cannot be done here" in wrong_method.text
    conflict_token = csrf_of(browser.get("/"))
    task_id = _start(app, "three_steps", "child-9", timedelta(days=2))
    answers = {"csrf_token": conflict_token, "concern": "x", "severity": "2"}
    assert browser.post(f"/tasks/{task_id}", data=answers).status_code == 302
    again = browser.post(f"/tasks/{task_id}", data=answers)
    assert again.status_code == 409 and again.mimetype == "text/html"
    api = browser.get("/api/nowhere")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
