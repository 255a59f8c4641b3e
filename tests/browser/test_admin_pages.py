"""At a real browser: an administrator adds a person with a role, an agency and a manager of
that agency, hands them a one-time reset link, changes their role (which signs them out),
disables them, and keeps the registry of agencies (issue 19, point 4). Also at 360 px."""

from __future__ import annotations

import pytest

from tests.browser.casework import sign_in
from tests.browser.served import browser_page, served

NEW = "sams-own-long-password"


@pytest.fixture
def service(tmp_path):
    people = {
        "ada": (["admin"], "partnership"),
        "maya": (["manager"], "school"),
        "hal": (["manager"], "health"),
    }
    with served(tmp_path, people) as running:
        yield running


def _sign_in_with(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.slow
def test_an_administrator_adds_resets_changes_and_disables_a_user(service, tmp_path):
    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as admin:
        admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        sign_in(admin, base, "ada")
        admin.click("header >> text=Users")
        admin.wait_for_url(base + "/admin/users")
        admin.click("text=Add a user")
        admin.fill("#username", "sam")
        admin.fill("#display_name", "Sam Green")
        admin.check("#role-practitioner")
        admin.select_option("#agency", "school")
        # Only the school's people are offered as the manager (the health group is hidden).
        assert admin.locator('#manager optgroup[data-agency="health"]').is_hidden()
        admin.select_option("#manager", "maya")
        admin.click("text=Add the user")
        admin.wait_for_url(base + "/admin/users/sam")
        assert "Added sam." in admin.locator(".flash").inner_text()

        admin.click("text=Issue a reset link to copy")
        link = admin.input_value("#reset-link")
        assert link.startswith("http://127.0.0.1:5000/reset/")
        admin.click("text=Copy the link")
        admin.wait_for_selector(".copied:has-text('Copied.')")
        assert admin.evaluate("navigator.clipboard.readText()") == link

        sam_context = admin.context.browser.new_context()
        sam = sam_context.new_page()
        sam.goto(base + link.split("5000", 1)[1])
        sam.fill("#password", NEW)
        sam.fill("#confirm", NEW)
        sam.click("text=Set the password")
        sam.wait_for_url(base + "/login")
        assert "Your new password is set" in sam.content()
        _sign_in_with(sam, base, "sam", NEW)
        assert sam.url == base + "/"

        admin.goto(base + "/admin/users/sam")
        admin.uncheck("#role-practitioner")
        admin.check("#role-dsl")
        admin.click("text=Save")
        admin.wait_for_url(base + "/admin/users/sam")
        assert "1 sessions and tokens of theirs ended" in admin.locator(".flash").inner_text()
        sam.reload()
        assert sam.url.startswith(base + "/login")

        admin.click("text=Disable sam")
        admin.wait_for_url(base + "/admin/users/sam")
        assert "(sam, disabled)" in admin.locator("h1").inner_text()
        admin.goto(base + "/admin/users")
        assert "disabled" in admin.locator('tr[data-username="sam"]').inner_text()
        sam_context.close()


@pytest.mark.slow
def test_the_registry_of_agencies_at_360_px(service, tmp_path):
    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path, width=360, height=740) as admin:
        sign_in(admin, base, "ada")
        admin.goto(base + "/admin/agencies")
        admin.fill("#code", "youth_justice")
        admin.fill("#label", "Youth justice service")
        admin.click("text=Add the agency")
        admin.wait_for_url(base + "/admin/agencies")
        row = admin.locator('tr[data-code="youth_justice"]')
        assert admin.input_value("#label-youth_justice") == "Youth justice service"
        assert admin.locator('tr[data-code="police"]').inner_text().count("in use by the diagrams")
        row.locator("button:has-text('Retire')").click()
        admin.wait_for_url(base + "/admin/agencies")
        assert "retired" in admin.locator('tr[data-code="youth_justice"]').inner_text()
        admin.goto(base + "/admin/users/new")
        assert admin.locator('#agency option[value="youth_justice"]').count() == 0
        # Usable at 360 px: nothing wider than the screen but the tables, which scroll.
        assert admin.evaluate("document.documentElement.scrollWidth") <= 360
        admin.keyboard.press("Tab")  # the skip link first, then the form is reachable
        assert admin.evaluate("document.activeElement.className") == "skip-link"
