"""A practitioner in Chromium starts "Should I share?" for a child with the child's details,
leaves the case, finds the child by name in My cases, follows the case, and finds it again in
My cases - at a desk and at 360 px, by keyboard, with no script error or CSP refusal."""

from __future__ import annotations

import pytest

from tests.browser.casework import NARROW, casework, chromium, fits_the_width, new_page, sign_in
from tests.browser.served import watch_console

CHILD = "CH-31170"


@pytest.mark.slow
def test_a_practitioner_searches_a_child_follows_the_case_and_finds_it_again(tmp_path):
    from playwright.sync_api import expect

    with casework(tmp_path) as running, chromium(running.chromium) as browser:
        base = running.base
        page = new_page(browser)
        problems = watch_console(page)
        sign_in(page, base, "pat")
        page.get_by_role("link", name="Should I share?").click()
        page.fill("#business_key", CHILD)
        page.fill("#display_name", "Sam Brown")
        page.fill("#date_of_birth", "2015-04-02")
        page.fill("#nhs_number", "943 476 5919")
        page.click("button:text('Start')")
        expect(page.locator("h1")).to_have_text("Describe the request")

        # Gone from the case: My cases finds the child again by name.
        page.get_by_role("link", name="My cases").click()
        expect(page.locator("h1")).to_have_text("My cases")
        page.get_by_label("Find a child").fill("sam")
        page.keyboard.press("Enter")
        expect(page.locator(".case-row")).to_have_count(1)
        row = page.locator(".case-row")
        expect(row).to_contain_text("born 02/04/2015")
        expect(row).to_contain_text("your step: Describe the request")
        row.get_by_role("link").click()
        expect(page.locator("h1")).to_contain_text("Sam Brown")
        expect(page.locator(".child-record")).to_contain_text("943 476 5919")

        # And once more, at 360 px, by the keyboard alone.
        narrow = new_page(browser, NARROW)
        problems += watch_console(narrow)
        sign_in(narrow, base, "pat")
        narrow.goto(base + "/cases")
        expect(narrow.locator(".case-row")).to_have_count(1)
        assert fits_the_width(narrow)
        narrow.focus("#q")
        narrow.keyboard.type("02/04/2015")
        narrow.keyboard.press("Enter")
        expect(narrow.locator(".case-row a").first).to_contain_text("Sam Brown")
        link = narrow.locator(".case-row a").first
        link.focus()
        expect(link).to_be_focused()
        narrow.keyboard.press("Enter")
        expect(narrow.locator("h1")).to_contain_text("Sam Brown")
        assert fits_the_width(narrow)
        # Nothing for a search that matches no child the practitioner may see.
        narrow.goto(base + "/cases?q=nobody")
        expect(narrow.locator("main")).to_contain_text("None of your cases matches")
        assert problems == [], "\n".join(problems)
