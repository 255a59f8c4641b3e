"""The process owner's workbench in Chromium (issue 18): an edit deployed in the browser with a
change note survives a restart that deploys bpmn/ again (as ``make run`` does); the diff page
names the two changes in words and colours them; Export downloads the version as deployed;
leaving with changes not deployed asks first; the panel offers only what the engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.served import DIAGRAMS, api, browser_page, served, sign_in
from tests.browser.test_modeller import deploy_with_note
from tests.support.live import run_cli

STEP = "describe_request"  # a user task of bpmn/information_sharing.bpmn, due in 1WD
NOT_RUN_HERE = (
    "CamundaPlatform__AsynchronousContinuations",
    "CamundaPlatform__ExecutionListener",
    "CamundaPlatform__TaskListener",
    "CamundaPlatform__Input",
    "CamundaPlatform__Output",
    "CamundaPlatform__JobExecution",
)


@pytest.fixture
def service(tmp_path):
    with served(tmp_path, {"olive": (["process_owner"], None)}) as running:
        yield running


def _open_step(page, base: str):
    from playwright.sync_api import expect

    page.goto(f"{base}/modeller/information_sharing")
    expect(page.locator("#modeller")).to_have_attribute("data-state", "ready")
    page.click(f'.djs-element[data-element-id="{STEP}"]')
    group = page.locator('[data-group-id="group-CamundaPlatform__UserAssignment"]')
    group.locator(".bio-properties-panel-group-header").click()
    return group


@pytest.mark.slow
def test_an_edit_deployed_with_a_note_survives_a_restart_and_the_diff_says_it(service, tmp_path):
    from playwright.sync_api import expect

    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as page:
        sign_in(page, base, "olive")
        group = _open_step(page, base)
        for missing in NOT_RUN_HERE:
            expect(page.locator(f'[data-group-id="group-{missing}"]')).to_have_count(0)
        expect(group.get_by_label("Follow up date")).to_have_count(0)
        expect(group.get_by_label("Candidate groups")).to_have_value("practitioner")
        group.get_by_label("Due date").fill("2WD")
        general = page.locator('[data-group-id="group-general"]')
        general.locator(".bio-properties-panel-group-header").click()
        general.get_by_label("Name").fill("Describe what is asked")

        # Leaving with the edits not deployed asks first; staying keeps them.
        asked: list[str] = []
        page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
        page.get_by_role("link", name="All processes").click(no_wait_after=True)
        expect(page.locator("#modeller")).to_have_attribute("data-state", "ready")
        assert asked == ["beforeunload"]
        assert page.url == f"{base}/modeller/information_sharing"

        page.click("#modeller-deploy")  # Cancel in the dialog deploys nothing
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator("#modeller-status")).to_have_text("Not deployed.")
        deploy_with_note(page, "Two working days to describe; a plainer name")
        expect(page.locator("#modeller-status")).to_have_text("Deployed as version 2.")
        row = page.locator('#history-rows tr[data-version="2"]')
        expect(row.locator(".note")).to_have_text("Two working days to describe; a plainer name")

        with page.expect_download() as download:
            page.click("#modeller-export")
        exported = Path(download.value.path()).read_bytes()
        as_deployed = page.request.get(
            f"{base}/api/process-definitions/information_sharing/versions/2/xml"
        ).body()
        assert exported == as_deployed and b'camunda:dueDate="2WD"' in exported
        assert download.value.suggested_filename == "information_sharing.bpmn"

    # The service restarts as `make run` does it: bpmn/ deployed again, twice.
    service.kill()
    for _restart in range(2):
        printed = run_cli(service.env, "deploy", *DIAGRAMS)
        assert "information_sharing version 2 (unchanged: the file is as deployed in version 1" in (
            printed
        )
    service.start()

    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as page:
        sign_in(page, base, "olive")
        group = _open_step(page, base)
        expect(page.locator("#modeller-version")).to_have_text("2")
        expect(group.get_by_label("Due date")).to_have_value("2WD")
        page.get_by_role("link", name="All processes").click()  # nothing to lose: no question
        page.wait_for_url(f"{base}/modeller")

        page.goto(f"{base}/modeller/information_sharing/diff")
        expect(page.locator("#changes li")).to_have_text(
            [
                'Step "Describe the request" renamed to "Describe what is asked"',
                'The due time of step "Describe what is asked": "1WD" changed to "2WD"',
            ]
        )
        expect(page.locator("#diff-diagrams")).to_have_attribute("data-state", "ready")
        for side in ("#diff-old", "#diff-new"):
            changed = page.locator(f'{side} .djs-element.diff-changed[data-element-id="{STEP}"]')
            expect(changed).to_have_count(1)
        expect(page.locator(".djs-element.diff-added, .djs-element.diff-removed")).to_have_count(0)

    status, versions = api(
        service, "olive", "GET", "/api/process-definitions/information_sharing/versions"
    )
    assert status == 200
    assert [(v["version"], v["source"], v["note"]) for v in versions["items"]] == [
        (1, "file", None),
        (2, "api", "Two working days to describe; a plainer name"),
    ]
