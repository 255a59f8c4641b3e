"""A manager at Chromium filters the inbox's view of the team's work and gives several steps
to one colleague at once, against ``safeguard serve`` (no JavaScript involved: the checkboxes
belong to the bulk form through their ``form`` attribute)."""

from __future__ import annotations

import pytest

from tests.browser.casework import NARROW, casework, chromium, fits_the_width, new_page, sign_in
from tests.browser.shots import shoot


@pytest.mark.slow
def test_a_manager_filters_the_inbox_and_reassigns_several_steps(tmp_path):
    from playwright.sync_api import expect

    with casework(tmp_path) as running, chromium(running.chromium) as browser:
        requests = []
        for business_key in ("CH-41001", "CH-41002"):
            status, held = running.api(
                "pat",
                "POST",
                "/api/process-instances",
                {"process_key": "information_sharing", "business_key": business_key},
            )
            assert status == 201, held
            (task,) = held["active_tasks"]
            status, claimed = running.api("pat", "POST", f"/api/tasks/{task['id']}/claim")
            assert status == 200, claimed
            requests.append(task)
        status, referral = running.api(
            "pat",
            "POST",
            "/api/process-instances",
            {"process_key": "referral", "business_key": "CH-41003"},
        )
        assert status == 201, referral
        (kept,) = referral["active_tasks"]

        page = new_page(browser)
        try:
            sign_in(page, running.base, "mo")
            page.get_by_role("link", name="Inbox").click()
            page.get_by_role("link", name="My team's open work").click()
            expect(page.locator("#team-heading")).to_contain_text("(3)")
            page.get_by_label("Step").select_option(requests[0]["name"])
            page.get_by_role("button", name="Show").click()
            expect(page.locator("#team-heading")).to_contain_text("(2)")
            expect(page.locator(f"#item-{kept['id']}")).to_have_count(0)
            for task in requests:
                page.locator(f"#item-{task['id']}").get_by_label("Select").check()
            page.get_by_label("Reassign selected to").select_option("sam")
            shoot(page, "inbox-bulk")
            page.get_by_role("button", name="Reassign selected").click()
            expect(page.locator(".flash")).to_contain_text("2 steps now with sam")
            expect(page.get_by_label("Step")).to_have_value(requests[0]["name"])  # kept
            for task in requests:
                expect(page.locator(f"#item-{task['id']}")).to_contain_text("held by sam")
            page.set_viewport_size(NARROW)
            assert fits_the_width(page)
            shoot(page, "inbox-bulk-360")
        except Exception:
            page.screenshot(path=str(tmp_path / "failure-mo.png"))
            raise

        status, sams = running.api("sam", "GET", "/api/tasks?view=mine")
        assert sorted(t["id"] for t in sams["items"]) == sorted(t["id"] for t in requests)
        status, pats = running.api("pat", "GET", "/api/tasks?view=mine")
        assert [t["id"] for t in pats["items"]] == [kept["id"]]
