"""A process owner changes a step's due time in the modeller, in Chromium, and deploys it.

No XML is typed: the due time is edited in the properties panel, as a process owner would.
"""

from __future__ import annotations

import pytest

from tests.browser.served import api, browser_page, served, sign_in
from tests.browser.shots import shoot

STEP = "describe_request"  # a user task of bpmn/information_sharing.bpmn, due in 1WD
ROUND_TRIP = (
    "<camunda:formField ",
    "<camunda:constraint ",
    "<camunda:value ",
    "<camunda:property ",
    "camunda:candidateGroups=",
    "camunda:dueDate=",
    "<bpmn:script>",
    "<bpmn:conditionExpression",
)


def deploy_with_note(page, note: str) -> None:
    """Deploy as a process owner does: the button, then the change note, then Deploy."""
    page.click("#modeller-deploy")
    page.fill("#deploy-note", note)
    page.click("#deploy-confirm")


@pytest.fixture
def service(tmp_path):
    with served(tmp_path, {"olive": (["process_owner"], None)}) as running:
        yield running


@pytest.mark.slow
def test_a_process_owner_changes_a_due_time_and_deploys_version_2(service, tmp_path):
    from playwright.sync_api import expect

    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as page:
        sign_in(page, base, "olive")
        page.goto(base + "/modeller")
        page.get_by_role("link", name="Information sharing").click()
        expect(page.locator("#modeller")).to_have_attribute("data-state", "ready")
        expect(page.locator("#modeller-version")).to_have_text("1")

        page.click(f'.djs-element[data-element-id="{STEP}"]')
        group = page.locator('[data-group-id="group-CamundaPlatform__UserAssignment"]')
        group.locator(".bio-properties-panel-group-header").click()
        due = group.get_by_label("Due date")
        expect(due).to_have_value("1WD")
        candidates = group.get_by_label("Candidate groups")
        expect(candidates).to_have_value("practitioner")
        due.fill("in a fortnight")  # the server does not understand it: shown on the step
        page.click("#modeller-validate")
        expect(page.locator("#modeller-status")).to_have_text("1 problem found.")
        problem = page.locator(f'#problems-list li[data-element-id="{STEP}"]')
        expect(problem).to_contain_text("due time 'in a fortnight' is not understood")
        marker = page.locator(f'.djs-overlays[data-container-id="{STEP}"] .problem-marker')
        expect(marker).to_be_visible()

        due.fill("2WD")
        page.click("#modeller-validate")
        expect(page.locator("#modeller-status")).to_have_text("No problems found.")
        expect(marker).to_have_count(0)
        shoot(page, "modeller", full_page=False)

        deploy_with_note(page, "Describing the request may take two working days")
        expect(page.locator("#modeller-status")).to_have_text("Deployed as version 2.")
        expect(page.locator("#modeller-version")).to_have_text("2")

        xml = page.request.get(
            base + "/api/process-definitions/information_sharing/xml?version=2"
        ).text()
        assert f'id="{STEP}"' in xml and 'camunda:dueDate="2WD"' in xml
        # What the panel did not touch survives the browser's load and save: forms, roles,
        # due times, scripts and conditions.
        before = page.request.get(
            base + "/api/process-definitions/information_sharing/xml?version=1"
        ).text()
        for kept in ROUND_TRIP:
            assert xml.count(kept) == before.count(kept) > 0, kept

        page.click("#modeller-diff")
        expect(page.locator("#changes li")).to_have_text(
            ['The due time of step "Describe the request": "1WD" changed to "2WD"']
        )
        page.get_by_text("The XML, line by line").click()
        expect(page.locator(".diff-add").filter(has_text='camunda:dueDate="2WD"')).to_be_visible()
        expect(page.locator(".diff-del").filter(has_text='camunda:dueDate="1WD"')).to_be_visible()

    status, versions = api(
        service, "olive", "GET", "/api/process-definitions/information_sharing/versions"
    )
    assert status == 200
    assert [(v["version"], v["deployed_by"]) for v in versions["items"]] == [
        (1, None),
        (2, "olive"),
    ]


@pytest.mark.slow
def test_every_shipped_diagram_survives_the_modellers_load_and_save(service, tmp_path):
    """What the browser saves (bpmn-js with the Camunda descriptor) still passes the server."""
    from playwright.sync_api import expect

    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as page:
        sign_in(page, base, "olive")
        for key in ("information_sharing", "early_help_caf", "referral", "escalation"):
            page.goto(f"{base}/modeller/{key}")
            expect(page.locator("#modeller")).to_have_attribute("data-state", "ready")
            page.click("#modeller-validate")
            expect(page.locator("#modeller-status")).to_have_text("No problems found.")
