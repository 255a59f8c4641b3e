"""The server-rendered work pages in the Flask test client, signed in through the login form."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.context import services
from service.pages.listing import lateness
from storage import UnitOfWork
from storage.models import ProcessInstance
from tests.support.helpers import (
    make_user,
    open_task_id,
    start_instance,
    token_client,
)
from tests.support.pages import PASSWORD, assert_clean, csrf_of, sign_in


@pytest.fixture
def app(page_app):
    return page_app({"pat": {"roles": ["practitioner"], "agency": "school"}})


@pytest.fixture
def task_id(app) -> str:
    started = start_instance(token_client(app, "pat"), business_key="child-1")
    assert started.status_code == 201, started.get_json()
    return open_task_id(app, started.get_json()["id"], "describe")


def test_my_work_lists_a_started_task(app, task_id):
    browser = sign_in(app)
    page = browser.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "I can claim" in html and "Describe the concern" in html
    assert f'href="/tasks/{task_id}"' in html
    assert 'href="/static/app.css"' in html
    assert_clean(page)


def test_the_task_page_renders_the_form_of_the_diagram(app, task_id):
    browser = sign_in(app)
    page = browser.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<label for="concern">What is the concern? <span class="required">' in html
    assert re.search(r'<input type="text" id="concern" name="concern"[^>]* required>', html)
    assert '<label for="severity">How severe (1-10)?</label>' in html
    assert re.search(r'<input type="number"[^>]*id="severity" name="severity"', html)
    assert f'action="/tasks/{task_id}/claim"' in html
    assert_clean(page)


def test_a_refused_answer_keeps_what_was_typed_and_shows_the_error_beside_the_field(app, task_id):
    browser = sign_in(app)
    page = browser.get(f"/tasks/{task_id}")
    answer = browser.post(
        f"/tasks/{task_id}", data={"csrf_token": csrf_of(page), "concern": " ", "severity": "7"}
    )
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert re.search(
        r'id="concern" name="concern" value=" " aria-describedby="error-concern" aria-invalid',
        html,
    )
    assert '<p class="field-error" id="error-concern">This field is required</p>' in html
    assert re.search(r'id="severity" name="severity" value="7"', html)
    assert_clean(answer)
    not_a_number = browser.post(
        f"/tasks/{task_id}",
        data={"csrf_token": csrf_of(page), "concern": "Bruises", "severity": "seven"},
    )
    assert not_a_number.status_code == 422
    html = not_a_number.get_data(as_text=True)
    assert 'id="error-severity">Enter a whole number</p>' in html
    assert 'value="seven"' in html and 'value="Bruises"' in html


def test_a_good_answer_completes_the_task_and_goes_back_to_my_work(app, task_id):
    browser = sign_in(app)
    page = browser.get(f"/tasks/{task_id}")
    done = browser.post(
        f"/tasks/{task_id}",
        data={"csrf_token": csrf_of(page), "concern": "Bruises", "severity": "8"},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/"
    home = browser.get("/").get_data(as_text=True)
    assert "Done" in home and f"/tasks/{task_id}" not in home
    again = browser.post(
        f"/tasks/{task_id}", data={"csrf_token": csrf_of(page), "concern": "Again"}
    )
    assert again.status_code == 409
    assert "already completed" in again.get_data(as_text=True)


def test_without_csrf_nothing_is_submitted(app, task_id):
    browser = sign_in(app)
    answer = browser.post(f"/tasks/{task_id}", data={"concern": "Bruises"})
    assert answer.status_code == 400
    assert f"/tasks/{task_id}" in browser.get("/").get_data(as_text=True)


def test_claim_then_give_back(app, task_id):
    browser = sign_in(app)
    token = csrf_of(browser.get(f"/tasks/{task_id}"))
    claimed = browser.post(f"/tasks/{task_id}/claim", data={"csrf_token": token})
    assert claimed.status_code == 302
    page = browser.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "Claimed by pat." in page and f'action="/tasks/{task_id}/unclaim"' in page
    assert "Assigned to me" in (home := browser.get("/").get_data(as_text=True))
    assert home.index(f"/tasks/{task_id}") < home.index("I can claim")
    browser.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": token})
    assert "Not claimed yet." in browser.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_an_outsider_gets_404_on_the_task(app, task_id):
    make_user(app, "olly", ["practitioner"], agency="police", password=PASSWORD)
    browser = sign_in(app, "olly")
    assert browser.get(f"/tasks/{task_id}").status_code == 404
    assert f"/tasks/{task_id}" not in browser.get("/").get_data(as_text=True)


def test_pages_need_a_sign_in(app, task_id):
    anonymous = app.test_client()
    for path in ("/", f"/tasks/{task_id}", "/start/three_steps"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_start_a_process_from_its_page(app):
    browser = sign_in(app)
    page = browser.get("/start/three_steps")
    assert page.status_code == 200 and "Start Three steps" in page.get_data(as_text=True)
    assert_clean(page)
    unnamed = browser.post("/start/three_steps", data={"csrf_token": csrf_of(page)})
    assert unnamed.status_code == 422
    assert 'id="error-business_key">Enter the child&#39;s identifier' in unnamed.text
    started = browser.post(
        "/start/three_steps", data={"csrf_token": csrf_of(page), "business_key": "child-7"}
    )
    assert started.status_code == 302 and started.headers["Location"].startswith("/tasks/")
    task = browser.get(started.headers["Location"]).get_data(as_text=True)
    assert "Describe the concern" in task
    assert "<dt>Child</dt><dd>child-7</dd>" in task
    assert browser.get("/start/nothing_here").status_code == 404


def test_pressing_start_twice_makes_one_case(app):
    browser = sign_in(app)
    page = browser.get("/start/three_steps")
    key = re.search(r'name="request_key" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": csrf_of(page), "business_key": "child-3", "request_key": key}
    first = browser.post("/start/three_steps", data=form)
    second = browser.post("/start/three_steps", data=form)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]  # the same first task
    assert "Already started" in browser.get(second.headers["Location"]).text
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        query = select(func.count()).where(ProcessInstance.business_key == "child-3")
        assert uow.session.scalar(query) == 1
    fresh = browser.get("/start/three_steps").text
    assert f'value="{key}"' not in fresh  # filling the form in again is a new start


def test_lateness_is_counted_in_working_time():
    friday_close = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # 17:00 in London (GMT)
    assert lateness(None, friday_close) == ("", "")
    monday_ten = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert lateness(friday_close, monday_ten) == ("overdue", "1 h late")
    assert lateness(friday_close, datetime(2026, 3, 7, 12, 0, tzinfo=UTC)) == (
        "overdue",
        "overdue",
    )  # a Saturday: no working time has gone by
    wednesday_eleven = datetime(2026, 3, 11, 11, 0, tzinfo=UTC)
    assert lateness(friday_close, wednesday_eleven) == ("overdue", "2 working days late")
    tuesday = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    assert lateness(friday_close, tuesday) == ("overdue", "1 working day late")
    assert lateness(monday_ten + timedelta(hours=5), monday_ten) == ("due-soon", "due in 5 h")
    assert lateness(monday_ten + timedelta(days=3), monday_ten) == ("", "")


def test_the_header_shows_who_is_signed_in_and_the_new_menu(app):
    make_user(
        app,
        "nia",
        ["practitioner"],
        agency="school",
        password=PASSWORD,
        display_name="Nia Shah (teacher)",
    )
    page = sign_in(app, "nia").get("/").get_data(as_text=True)
    assert "Signed in as Nia Shah (teacher) (practitioner)" in page
    for label in (
        "Should I share?",
        "Early help",
        "Refer to children&#39;s social care",
        "Raise a disagreement",
    ):
        assert label in page
    assert 'href="/start/information_sharing"' in page


def test_the_board_has_no_new_menu(app):
    make_user(app, "bea", ["board"], agency="partnership", password=PASSWORD)
    page = sign_in(app, "bea").get("/", follow_redirects=True).get_data(as_text=True)
    assert "Signed in as bea (board)" in page and "Should I share?" not in page


@pytest.mark.parametrize(
    ("roles", "home"),
    [
        (["board"], "/reports"),
        (["process_owner"], "/modeller"),
        (["process_owner", "board"], "/modeller"),
        (["admin"], "/modeller"),
        (["practitioner", "process_owner"], None),
        (["auditor"], None),
    ],
)
def test_who_does_no_casework_lands_on_the_page_of_their_job(app, roles, home):
    """The Board and process owners once landed on an empty My work."""
    make_user(app, "someone", roles, agency="partnership", password=PASSWORD)
    answer = sign_in(app, "someone").get("/")
    if home is None:
        assert answer.status_code == 200 and "My work" in answer.get_data(as_text=True)
    else:
        assert answer.status_code == 302 and answer.headers["Location"] == home
