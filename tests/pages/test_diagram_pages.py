"""The case view, the task page's diagram and the modeller pages, in the Flask test client.

What the browser draws is tested in tests/browser; here: who may open what, what the pages
name for their scripts to fetch, the audit of a case read, deploying with the page's CSRF token
and the server-side diff.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service import trail
from service.context import services
from service.headers import CSP
from storage import UnitOfWork
from storage.models import AuditEvent
from tests.support.helpers import (
    THREE_STEPS_V2,
    XML,
    assert_error,
    open_task_id,
    start_instance,
    token_client,
)
from tests.support.pages import assert_clean, sign_in
from workflows.clock import FrozenClock

META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))  # a Monday morning


@pytest.fixture
def app(page_app, clock):
    people = {
        "pat": {"roles": ["practitioner"], "agency": "school"},
        "zed": {"roles": ["practitioner"], "agency": "health"},
        "olive": {"roles": ["process_owner"]},
    }
    return page_app(people, clock=clock)


@pytest.fixture
def instance_id(app) -> str:
    started = start_instance(token_client(app, "pat"), business_key="child-1")
    assert started.status_code == 201, started.get_json()
    return started.get_json()["id"]


def _audit(app, action: str) -> list[AuditEvent]:
    trail.flush(app)  # reads are queued and inserted in batches (service/records/pending.py)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_case_view_lists_the_childs_instances_with_their_diagrams(app, instance_id):
    browser = sign_in(app)
    page = browser.get("/cases/child-1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'data-diagram-url="/api/process-instances/{instance_id}/diagram"' in html
    assert "Describe the concern" in html  # the open step, and in the timeline
    assert "Three steps started" in html and "“Describe the concern” waiting" in html
    assert "No decision to share or not to share has been recorded" in html
    assert 'src="/static/vendor/viewer.js"' in html and 'src="/static/diagram.js"' in html
    assert_clean(page)
    read = _audit(app, "cases.case")
    assert [(e.actor, e.case_key, e.outcome) for e in read] == [("pat", "child-1", "ok")]


def test_a_case_the_person_may_not_see_is_not_found_and_the_attempt_is_audited(app, instance_id):
    browser = sign_in(app, "zed")
    assert browser.get("/cases/child-1").status_code == 404
    assert browser.get("/cases/no-such-child").status_code == 404
    refused = _audit(app, "cases.case")
    assert [(e.actor, e.outcome) for e in refused] == [("zed", "404"), ("zed", "404")]
    assert all(e.case_key is None for e in refused)  # a refusal does not name the case


def test_the_task_page_shows_its_step_on_the_diagram_and_links_to_the_case(app, instance_id):
    task_id = open_task_id(app, instance_id, "describe")
    page = sign_in(app).get(f"/tasks/{task_id}")
    html = page.get_data(as_text=True)
    assert f'data-diagram-url="/api/process-instances/{instance_id}/diagram"' in html
    assert 'data-current="describe"' in html
    assert 'href="/cases/child-1"' in html
    home = sign_in(app).get("/").get_data(as_text=True)
    assert 'href="/cases/child-1"' in home


def test_the_case_views_diagrams_mark_a_late_step_overdue(app, clock, instance_id):
    pat = token_client(app, "pat")
    url = f"/api/process-instances/{instance_id}/diagram"
    marks = pat.get(url).get_json()
    assert (marks["active"], marks["overdue"], marks["completed"]) == (["describe"], [], ["start"])
    clock.advance(timedelta(days=3))  # 1WD allowed
    marks = pat.get(url).get_json()
    assert (marks["active"], marks["overdue"]) == (["describe"], ["describe"])
    html = sign_in(app).get("/cases/child-1").get_data(as_text=True)
    assert re.search(r'class="task overdue">\s*<a href="/tasks/', html)


def test_the_history_names_each_step(app, instance_id):
    body = token_client(app, "pat").get(f"/api/process-instances/{instance_id}/history")
    items = body.get_json()["items"]
    assert [(e["event"], e.get("task"), e.get("name")) for e in items] == [
        ("started", None, None),
        ("task_opened", "describe", "Describe the concern"),
    ]


def test_only_process_owners_open_the_modeller(app):
    assert sign_in(app).get("/modeller/three_steps").status_code == 403
    owner = sign_in(app, "olive")
    page = owner.get("/modeller/three_steps")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert META.search(html)
    assert 'data-xml-url="/api/process-definitions/three_steps/xml?version=1"' in html
    assert 'data-deploy-url="/api/process-definitions?filename=three_steps.bpmn"' in html
    assert 'src="/static/vendor/modeller.js"' in html
    assert_clean(page)
    assert 'href="/modeller/three_steps"' in owner.get("/modeller").get_data(as_text=True)
    assert 'href="/modeller"' in owner.get("/").get_data(as_text=True)  # in the header
    assert 'href="/modeller"' not in sign_in(app).get("/").get_data(as_text=True)
    assert owner.get("/modeller/nothing_deployed").status_code == 404
    assert owner.get("/modeller/three_steps?version=2").status_code == 404
    assert owner.get("/modeller/three_steps?version=one").status_code == 400


def test_the_modeller_deploys_with_the_pages_csrf_token_and_diffs_the_versions(app):
    owner = sign_in(app, "olive")
    token = META.search(owner.get("/modeller/three_steps").get_data(as_text=True)).group(1)
    url = "/api/process-definitions?filename=three_steps.bpmn"
    assert_error(owner.post(url, data=THREE_STEPS_V2, headers=XML), 400, "csrf_failed")
    checked = owner.post(
        "/api/process-definitions/validate",
        data=THREE_STEPS_V2.replace(b'targetRef="describe"', b'targetRef="nowhere"', 1),
        headers={**XML, "X-CSRFToken": token},
    )
    assert checked.status_code == 200
    assert any(p["element_id"] for p in checked.get_json()["problems"])
    deployed = owner.post(url, data=THREE_STEPS_V2, headers={**XML, "X-CSRFToken": token})
    assert deployed.status_code == 201, deployed.get_json()
    assert deployed.get_json()["version"] == 2

    diff = owner.get("/modeller/three_steps/diff")  # the latest against the one before
    html = diff.get_data(as_text=True)
    assert diff.status_code == 200
    assert '<span class="diff-del">-' in html and "Take the action" in html
    assert '<span class="diff-add">+' in html and "Take the agreed action" in html
    older = owner.get("/modeller/three_steps?version=1").get_data(as_text=True)
    assert 'data-xml-url="/api/process-definitions/three_steps/xml?version=1"' in older
    assert "the latest is" in older
    same = owner.get("/modeller/three_steps/diff?from=2&to=2").get_data(as_text=True)
    assert "compared with itself" in same
    assert owner.get("/modeller/three_steps/diff?from=x").status_code == 400
    assert owner.get("/modeller/three_steps/diff?from=9").status_code == 404
    assert sign_in(app).get("/modeller/three_steps/diff").status_code == 403


def test_the_csp_allows_only_the_vendor_style_attributes():
    assert "'unsafe-inline'" not in CSP
    assert "script-src 'self'" in CSP and "style-src 'self'" in CSP
    attr = next(d for d in CSP.split("; ") if d.startswith("style-src-attr"))
    assert attr.split()[1] == "'unsafe-hashes'"
    assert all(h.startswith("'sha256-") for h in attr.split()[2:])


def test_the_diff_page_says_the_change_in_words_and_the_modeller_lists_versions_with_notes(app):
    owner = sign_in(app, "olive")
    token = META.search(owner.get("/modeller/three_steps").get_data(as_text=True)).group(1)
    url = "/api/process-definitions?filename=three_steps.bpmn&note=Clearer+name+for+the+last+step"
    deployed = owner.post(url, data=THREE_STEPS_V2, headers={**XML, "X-CSRFToken": token})
    assert deployed.status_code == 201, deployed.get_json()

    html = owner.get("/modeller/three_steps/diff").get_data(as_text=True)
    assert "Step &#34;Take the action&#34; renamed to &#34;Take the agreed action&#34;" in html
    assert "Change note of version 2: <q>Clearer name for the last step</q>" in html
    assert 'data-changed="act"' in html
    assert 'src="/static/vendor/viewer.js"' in html and 'src="/static/modeller_diff.js"' in html

    page = owner.get("/modeller/three_steps").get_data(as_text=True)
    assert page.index('<tr data-version="2">') < page.index('<tr data-version="1">')
    assert '<td class="note">Clearer name for the last step</td>' in page
    assert "deployed in the modeller or through the API by olive" in page
    assert 'href="/api/process-definitions/three_steps/versions/2/xml" title=' in page  # Export
    assert '<dialog id="deploy-dialog"' in page and 'id="deploy-note"' in page
