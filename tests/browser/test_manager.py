"""A manager at Chromium reassigns overdue work from the inbox, against ``safeguard serve``.

Working days pass the honest way: the service is stopped and started again with its clock
moved on (``SAFEGUARD_CLOCK_OFFSET``, test only), and its scheduler fires the reminders and
escalations that fell due meanwhile, so the practitioner's reminders and the manager's inbox
are filled by the real timers, not by the test.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from tasks.calendar import DEFAULT_CALENDAR as CALENDAR
from tests.browser.casework import (
    NARROW,
    WIDE,
    casework,
    chromium,
    fits_the_width,
    new_page,
    sign_in,
)
from tests.browser.shots import shoot


def _three_working_days_after(due: datetime) -> datetime:
    """11:00 London time on the third working day after the day ``due`` falls on."""
    day = due.astimezone(CALENDAR.zone).date()
    for _ in range(3):
        day = CALENDAR.next_working_day(day)
    return datetime.combine(day, time(11, 0), tzinfo=CALENDAR.zone)


@pytest.mark.slow
def test_a_manager_reassigns_overdue_work_from_the_inbox(tmp_path):
    from playwright.sync_api import expect

    with casework(tmp_path) as running, chromium(running.chromium) as browser:
        status, held = running.api(
            "pat",
            "POST",
            "/api/process-instances",
            {"process_key": "information_sharing", "business_key": "CH-31001"},
        )
        assert status == 201, held
        (task,) = held["active_tasks"]
        status, claimed = running.api("pat", "POST", f"/api/tasks/{task['id']}/claim")
        assert status == 200, claimed
        status, _ = running.api(
            "pat",
            "POST",
            "/api/process-instances",
            {"process_key": "information_sharing", "business_key": "CH-31002"},
        )
        assert status == 201

        due = datetime.fromisoformat(task["due_at"])
        offset = _three_working_days_after(due) - datetime.now(UTC)
        running.start(clock_offset_seconds=offset.total_seconds())

        def escalated():
            status, inbox = running.api("mo", "GET", "/api/escalations")
            return status == 200 and {i["task_id"] for i in inbox["items"]} >= {task["id"]}

        running.wait_for(escalated)
        status, _ = running.api(  # due the same working day: amber in My work
            "pat",
            "POST",
            "/api/process-instances",
            {"process_key": "referral", "business_key": "CH-31003"},
        )
        assert status == 201
        base = running.base

        page = new_page(browser)
        try:
            sign_in(page, base, "pat")
            row = page.locator(f"li.task.overdue:has(a[href='/tasks/{task['id']}'])")
            expect(row).to_contain_text("2 working days late")
            expect(page.locator("li.task.due-soon")).to_contain_text("Make the referral")
            badge = page.locator("header .badge")
            expect(badge).to_be_visible()
            shoot(page, "my-work")
            page.set_viewport_size(NARROW)
            assert fits_the_width(page)
            shoot(page, "my-work-360")
            page.set_viewport_size(WIDE)
            page.get_by_role("link", name="Reminders").click()
            expect(page.locator("h1")).to_have_text("Reminders")
            expect(page.locator(".notification.unread").first).to_contain_text(
                "Describe the request"
            )
            shoot(page, "notifications")
        except Exception:
            page.screenshot(path=str(tmp_path / "failure-pat.png"))
            raise

        page = new_page(browser)
        try:
            sign_in(page, base, "mo")
            page.get_by_role("link", name="Inbox").click()
            expect(page.locator("h1")).to_have_text("Inbox")
            item = page.locator(f"#item-{task['id']}")
            expect(item).to_contain_text("held by pat")
            expect(item).to_contain_text("working days late")
            shoot(page, "inbox")
            item.get_by_label("Reassign to").select_option("sam")
            item.get_by_role("button", name="Reassign").click()
            expect(page.locator(".flash")).to_contain_text("is now with sam")
            expect(page.locator(f"#item-{task['id']}")).to_contain_text("held by sam")
            page.set_viewport_size(NARROW)
            assert fits_the_width(page)
            shoot(page, "inbox-360")
        except Exception:
            page.screenshot(path=str(tmp_path / "failure-mo.png"))
            raise

        status, sams = running.api("sam", "GET", "/api/tasks?view=mine")
        assert [t["id"] for t in sams["items"]] == [task["id"]]
        status, inbox = running.api("mo", "GET", "/api/escalations")
        assert task["id"] not in {i["task_id"] for i in inbox["items"]}
