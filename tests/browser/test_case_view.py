"""The diagrams in Chromium: the task page outlines its step, the case view colours each instance.

A manager-practitioner runs two "Should I share?" requests for one child: the first ends at once
(no legitimate purpose: a "not share" entry in the register), the second waits at its first step.
"""

from __future__ import annotations

import pytest

from tests.browser.served import api, browser_page, served, sign_in
from tests.browser.shots import shoot

CHILD = "child-7"
REQUEST = {
    "information": "Bruising seen at school",
    "recipient_agency": "childrens_social_care",
    "purpose": "Protect the child from harm",
    "legitimate_purpose": "yes",
    "identifies_living_person": True,
    "confidential": True,
}


@pytest.fixture
def service(tmp_path):
    users = {"mo": (["practitioner", "manager"], "school"), "zed": (["practitioner"], "health")}
    with served(tmp_path, users) as running:
        yield running


def start_request(service, business_key: str = CHILD) -> dict:
    """A "Should I share?" request for ``business_key``, started by mo through the API."""
    status, started = api(
        service,
        "mo",
        "POST",
        "/api/process-instances",
        {"process_key": "information_sharing", "business_key": business_key},
    )
    assert status == 201, started
    return started


def _shape(page, diagram, element_id: str):
    return page.locator(diagram).locator(f'.djs-element[data-element-id="{element_id}"]')


@pytest.mark.slow
def decide_not_to_share(service, business_key: str = CHILD) -> dict:
    """A request started and ended at once: no legitimate purpose, so nothing is shared."""
    started = start_request(service, business_key)
    task = started["active_tasks"][0]
    status, done = api(
        service,
        "mo",
        "POST",
        f"/api/tasks/{task['id']}/complete",
        {"data": {**REQUEST, "legitimate_purpose": "no"}},
    )
    assert status == 200, done
    return started


def test_the_task_page_and_the_case_view_show_where_each_process_stands(service, tmp_path):
    from playwright.sync_api import expect

    ended = decide_not_to_share(service)
    waiting = start_request(service)
    step = waiting["active_tasks"][0]
    assert step["element_id"] == "describe_request"
    base = f"http://127.0.0.1:{service.port}"

    with browser_page(service, tmp_path, width=1280, height=900) as page:
        sign_in(page, base, "mo")
        page.goto(f"{base}/tasks/{step['id']}")
        expect(page.locator(".diagram")).to_have_attribute("data-state", "ready")
        this_step = _shape(page, ".diagram", "describe_request")
        expect(this_step).to_have_class("djs-element djs-shape active current")
        page.locator(".diagram").scroll_into_view_if_needed()
        shoot(page, "task-page")

        page.get_by_role("link", name=f"Case {CHILD}").click()
        expect(page.locator("h1")).to_have_text(f"Case {CHILD}")
        first, second = (
            f"#instance-{ended['id']} .diagram",
            f"#instance-{waiting['id']} .diagram",
        )
        expect(page.locator(first)).to_have_attribute("data-state", "ready")
        expect(page.locator(second)).to_have_attribute("data-state", "ready")
        expect(_shape(page, second, "describe_request")).to_have_class(
            "djs-element djs-shape active"
        )
        expect(_shape(page, first, "describe_request")).to_have_class(
            "djs-element djs-shape completed"
        )
        expect(page.locator(f"#instance-{ended['id']} .state")).to_have_text("completed")
        timeline = page.locator(".timeline li")
        expect(timeline.filter(has_text="“Describe the request” done")).to_have_count(1)
        expect(timeline.filter(has_text="“Describe the request” waiting")).to_have_count(2)
        row = page.locator("table.register tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("Not share")
        shoot(page, "case-view")

        # Someone with no part in the case is told it does not exist.
        page.goto(base + "/logout")
        page.context.clear_cookies()
        sign_in(page, base, "zed")
        refused = page.request.get(f"{base}/cases/{CHILD}")
        assert refused.status == 404
