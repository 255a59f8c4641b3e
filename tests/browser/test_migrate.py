"""A process owner, in Chromium: a misspelt role is refused on its step; the fixed diagram is
deployed, and the running cases are planned (a dry run) and then moved to the new version."""

from __future__ import annotations

import pytest

from tests.browser.served import api, browser_page, served, sign_in
from tests.browser.test_modeller import deploy_with_note

STEP = "describe_request"  # a user task of bpmn/information_sharing.bpmn, for practitioners


@pytest.fixture
def service(tmp_path):
    users = {"olive": (["process_owner"], None), "mo": (["practitioner"], "school")}
    with served(tmp_path, users) as running:
        yield running


def _start(service, business_key: str) -> str:
    body = {"process_key": "information_sharing", "business_key": business_key}
    status, started = api(service, "mo", "POST", "/api/process-instances", body)
    assert status == 201, started
    return started["id"]


@pytest.mark.slow
def test_a_misspelt_role_is_refused_then_running_cases_move_to_the_fixed_version(service, tmp_path):
    from playwright.sync_api import expect

    cases = [_start(service, key) for key in ("CH-50001", "CH-50002")]
    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as page:
        sign_in(page, base, "olive")
        page.goto(f"{base}/modeller/information_sharing")
        expect(page.locator("#modeller")).to_have_attribute("data-state", "ready")
        page.click(f'.djs-element[data-element-id="{STEP}"]')
        group = page.locator('[data-group-id="group-CamundaPlatform__UserAssignment"]')
        group.locator(".bio-properties-panel-group-header").click()
        candidates = group.get_by_label("Candidate groups")
        candidates.fill("practitoner")
        page.click("#modeller-validate")
        expect(page.locator("#modeller-status")).to_have_text("1 problem found.")
        problem = page.locator(f'#problems-list li[data-element-id="{STEP}"]')
        expect(problem).to_contain_text("'practitoner'")
        marker = page.locator(f'.djs-overlays[data-container-id="{STEP}"] .problem-marker')
        expect(marker).to_be_visible()

        candidates.fill("practitioner")
        group.get_by_label("Due date").fill("2WD")
        deploy_with_note(page, "Role spelt right; two working days to describe the request")
        expect(page.locator("#modeller-status")).to_have_text("Deployed as version 2.")

        page.click("#modeller-migrate")
        expect(page.locator("#migrate-summary")).to_have_text("2 of 2 running cases can move.")
        for case in cases:
            row = page.locator(f'tr[data-instance="{case}"]')
            expect(row).to_have_attribute("data-can-move", "yes")
            expect(row).to_contain_text(STEP)
        expect(page.locator("main")).not_to_contain_text("CH-5000")  # no child is named
        page.click("#migrate-apply")
        expect(page.locator("#migrate-summary")).to_have_text(
            "2 moved, 0 stay, 0 changed meanwhile (left as they were)."
        )
    for case in cases:
        status, body = api(service, "mo", "GET", f"/api/process-instances/{case}")
        assert (status, body["definition_version"]) == (200, 2)
