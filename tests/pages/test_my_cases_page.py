"""My cases, the child record on the start page and the case page, in the Flask test client:
a practitioner finds their cases again, by name, date of birth or key, sees where each stands
(also once the work is with their manager), and an outsider's search finds nothing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from records import caselist
from service import trail
from service.context import services
from storage import UnitOfWork
from storage.children import ChildRecord
from storage.models import AuditEvent
from tests.support.helpers import complete_task, open_task_id, start_instance, token_client
from tests.support.pages import assert_clean, csrf_of, sign_in
from workflows.clock import FrozenClock

SCHOOL = {"roles": ["practitioner"], "agency": "school", "manager": "mo"}
DETAILS = {"display_name": "Sam Brown", "date_of_birth": "2015-04-02", "nhs_number": "9434765919"}


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))  # a Monday morning


@pytest.fixture
def app(page_app, clock):
    people = {
        "mo": {"roles": ["manager"], "agency": "school"},
        "pat": SCHOOL,
        "olly": {"roles": ["practitioner"], "agency": "voluntary"},
        "bea": {"roles": ["board"]},
    }
    return page_app(people, shipped=("information_sharing",), clock=clock)


def _start_on_the_page(browser, business_key: str, **details: str):
    form = browser.get("/start/three_steps")
    fields = {"business_key": business_key, **details}
    return browser.post(
        "/start/three_steps",
        data={"csrf_token": csrf_of(form), "request_key": uuid.uuid4().hex, **fields},
    )


def _cases(page) -> list[str]:
    """The case keys My cases lists, in order."""
    return re.findall(r'<li class="task case-row[^"]*">\s*<a href="/cases/([^"]+)"', page.text)


def test_a_practitioner_finds_their_cases_and_sees_where_each_stands(app, clock):
    pat = sign_in(app)
    started = _start_on_the_page(pat, "child-1", **DETAILS)
    assert started.status_code == 302
    start_instance(token_client(app, "pat"), business_key="child-2")
    instance = token_client(app, "pat").get("/api/process-instances?business_key=child-1")
    first = instance.get_json()["items"][0]["id"]
    complete_task(app, open_task_id(app, first, "describe"), {"concern": "bruising", "severity": 3})

    page = pat.get("/cases")
    assert page.status_code == 200
    assert_clean(page)
    assert '<a href="/cases">My cases</a>' in page.text  # in the main navigation
    assert '<label for="q">Find a child</label>' in page.text
    assert sorted(_cases(page)) == ["child-1", "child-2"]
    html = page.text
    # The practitioner's own step, and the case now with the manager: it does not vanish.
    assert "your step: Describe the concern (not claimed yet), due <time" in html
    assert "waiting for line managers (Review the concern), due <time" in html
    assert "Sam Brown" in html and "born 02/04/2015" in html
    assert re.search(r"due <time datetime=\"[^\"]+\">\w{3} \d{2} \w{3} \d{2}:\d{2}</time>", html)
    # Overdue is marked in words, not only in colour.
    clock.advance(timedelta(days=4))
    pat = sign_in(app)  # the sign-in has lapsed meanwhile
    late = pat.get("/cases").text
    assert 'class="task case-row overdue"' in late and "working days late" in late

    for words, expected in (
        ("Sam", ["child-1"]),
        ("sam brown", ["child-1"]),
        ("02/04/2015", ["child-1"]),
        ("2015-04-02", ["child-1"]),
        ("943 476 5919", ["child-1"]),
        ("child-2", ["child-2"]),
        ("CHILD", ["child-1", "child-2"]),
        ("%", []),
    ):
        found = pat.get("/cases", query_string={"q": words})
        assert sorted(_cases(found)) == expected, words
    assert "None of your cases matches" in pat.get("/cases?q=nobody").text
    assert _cases(pat.get("/cases?sort=child")) == ["child-1", "child-2"]
    assert _cases(pat.get("/cases?sort=nonsense&page=x")) != []  # unknown values: the default

    # The manager sees their practitioner's case, with the review as theirs to take.
    mo = sign_in(app, "mo").get("/cases").text
    assert "your step: Review the concern (not claimed yet)" in mo
    # My work links each task to its case.
    assert 'href="/cases/child-2"' in pat.get("/").text


def test_an_outsider_finds_nothing_and_the_board_has_no_cases(app):
    _start_on_the_page(sign_in(app), "child-1", **DETAILS)
    olly = sign_in(app, "olly")
    for words in ("Sam", "child-1", "02/04/2015", "9434765919", ""):
        page = olly.get("/cases", query_string={"q": words})
        assert page.status_code == 200 and _cases(page) == [], words
        assert "Sam Brown" not in page.text
    assert olly.get("/cases/child-1").status_code == 404
    # The start form does not tell a stranger that the child is known.
    form = olly.get("/start/three_steps?business_key=child-1").text
    assert 'id="display_name"' in form and "Sam Brown" not in form
    bea = sign_in(app, "bea")
    assert bea.get("/cases").status_code == 403
    assert "My cases" not in bea.get("/notifications").text


def test_reading_the_list_is_audited_without_the_search_words(app):
    _start_on_the_page(sign_in(app), "child-1", **DETAILS)
    assert sign_in(app).get("/cases?q=Sam").status_code == 200
    trail.flush(app)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        (event,) = uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cases.my_cases")
        )
        case_read = select(AuditEvent).where(AuditEvent.action == "cases.case")
        assert list(uow.session.scalars(case_read)) == []
    assert event.actor == "pat" and event.detail["searched"] is True
    assert event.detail["cases_shown"] == 1 and "Sam" not in str(event.detail)


def test_the_list_pages(app, monkeypatch):
    monkeypatch.setattr(caselist, "PER_PAGE", 2)
    pat = token_client(app, "pat")
    for number in range(1, 4):
        assert start_instance(pat, business_key=f"child-{number}").status_code == 201
    browser = sign_in(app)
    first = browser.get("/cases?sort=child")
    assert _cases(first) == ["child-1", "child-2"]
    assert 'rel="next" href="/cases?sort=child&amp;page=2"' in first.text
    second = browser.get("/cases?sort=child&page=2")
    assert _cases(second) == ["child-3"] and 'rel="prev"' in second.text
    assert 'rel="next"' not in second.text


def _record(app, key: str) -> ChildRecord | None:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        return uow.session.get(ChildRecord, key)


def test_the_start_page_asks_once_per_child_and_the_case_page_shows_the_record(app):
    pat = sign_in(app)
    form = pat.get("/start/three_steps")
    assert_clean(form)
    assert '<legend>About the child <span class="required">' in form.text
    for name in ("display_name", "date_of_birth", "nhs_number", "la_person_id"):
        assert f'<label for="{name}">' in form.text
    bad = _start_on_the_page(pat, "child-1", nhs_number="9434765918", la_person_id="LA 1")
    assert bad.status_code == 422
    assert 'id="error-nhs_number"' in bad.text and "NHS number must be 10 digits" in bad.text
    assert 'id="error-la_person_id"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="9434765918"' in bad.text  # what was typed stays
    assert _record(app, "child-1") is None
    assert _start_on_the_page(pat, "child-1", **DETAILS).status_code == 302
    assert _record(app, "child-1").date_of_birth == date(2015, 4, 2)

    case = pat.get("/cases/child-1")
    assert_clean(case)
    assert "<h1>Sam Brown" in case.text and "943 476 5919" in case.text
    # The child's next process, from the case page: the form knows the child, asks no more.
    link = "/start/information_sharing?business_key=child-1"
    assert f'href="{link}"' in case.text
    second = pat.get(link)
    assert_clean(second)
    assert 'value="child-1"' in second.text
    assert "This child's details are recorded (Sam Brown)" in second.text
    assert 'id="display_name"' not in second.text
    # Details typed anyway (a form opened before the record existed) do not overwrite it.
    reused = _start_on_the_page(pat, "child-1", display_name="Someone else")
    assert reused.status_code == 302
    assert "recorded before: the recorded ones are kept" in pat.get("/").text
    assert _record(app, "child-1").display_name == "Sam Brown"
