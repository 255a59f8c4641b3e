"""A practitioner at Chromium runs "Should I share?" down the consent-refused / significant-harm
path (processes.md: in doubt = no, so no advice step) to its end, against ``safeguard serve``
with the shipped diagrams: the decision lands in the sharing register and a referral for the
same child starts, its first step waiting in the practitioner's My work.
"""

from __future__ import annotations

import pytest

from tests.browser.casework import (
    NARROW,
    casework,
    choose,
    chromium,
    fits_the_width,
    new_page,
    sign_in,
)
from tests.browser.shots import shoot

CHILD = "CH-20417"


def _submit(page, base: str) -> None:
    page.click("button:text('Submit')")
    page.wait_for_url(base + "/")


def _open(page, step: str) -> None:
    page.get_by_role("link", name=step).click()
    page.locator("h1").filter(has_text=step).wait_for()


@pytest.mark.slow
def _answers_have_room(page) -> None:
    """Long questions do not squeeze their answers into a sliver of one letter a line."""
    shares = page.evaluate(
        """() => [...document.querySelectorAll('.case-summary details[open] dd')]
        .map(d => d.getBoundingClientRect().width
                  / d.parentElement.getBoundingClientRect().width)"""
    )
    assert shares and min(shares) > 0.4, shares


def test_should_i_share_consent_refused_significant_harm(tmp_path):
    from playwright.sync_api import expect

    with casework(tmp_path) as running, chromium(running.chromium) as browser:
        base = running.base
        page = new_page(browser)
        try:
            page.goto(base + "/login")
            page.keyboard.press("Tab")  # the first stop of the keyboard is the skip link
            expect(page.locator(":focus")).to_have_text("Skip to main content")
            shoot(page, "login")
            sign_in(page, base, "pat")

            page.get_by_role("link", name="Should I share?").click()
            expect(page.locator("h1")).to_contain_text("Start")
            page.fill("#business_key", CHILD)
            page.click("button:text('Start')")
            expect(page.locator("h1")).to_have_text("Describe the request")
            expect(page.locator(".case-summary")).to_contain_text(CHILD)
            page.fill("#information", "School attendance and a disclosure made to a teacher")
            page.select_option("#recipient_agency", "childrens_social_care")
            page.fill("#recipient_person", "Duty social worker, MASH")
            page.fill("#purpose", "So that the front door can assess the risk to the child")
            choose(page, "urgent", "true")
            choose(page, "legitimate_purpose", "yes")
            choose(page, "identifies_living_person", "true")
            choose(page, "confidential", "true")
            _submit(page, base)
            expect(page.locator(".flash")).to_have_text("Done")

            _open(page, "Safeguarding check")
            summary = page.locator(".case-summary")
            expect(summary).to_contain_text("Describe the request")
            expect(summary).to_contain_text("childrens social care")  # earlier answer, labelled
            choose(page, "significant_harm", "true")
            choose(page, "prevent_serious_crime", "false")
            choose(page, "cse_concern", "false")
            page.fill("#child_age", "9")
            choose(page, "sexual_activity", "false")
            choose(page, "consent_unsafe", "false")
            choose(page, "in_doubt", "false")
            _submit(page, base)

            _open(page, "Seek consent")
            _answers_have_room(page)
            choose(page, "consent_outcome", "refused")
            page.fill("#views_of_child_or_family", "The parents do not want the school to share")
            _submit(page, base)

            _open(page, "Share the information")
            page.fill("#information_shared", "Attendance record and the teacher's note")
            choose(page, "method", "secure_email")
            choose(page, "necessary_and_proportionate", "true")
            page.click("button:text('Submit')")  # no lawful basis: consent was refused
            expect(page.locator("#error-lawful_basis")).to_be_visible()
            expect(page.locator(".error-summary")).to_contain_text("Lawful basis")
            expect(page.locator("#information_shared")).to_have_value(
                "Attendance record and the teacher's note"
            )
            shoot(page, "task-422")
            page.fill(
                "#lawful_basis",
                "UK GDPR Art. 6(1)(e); Art. 9 with DPA 2018 Sch. 1 para 18",
            )
            _submit(page, base)

            _open(page, "Tell the family")
            choose(page, "subject_informed", "false")
            page.fill("#not_informed_reason", "Telling the parents now could put the child at risk")
            _submit(page, base)

            # The referral started for the same child; its first step is assigned back to pat.
            mine = page.locator("section[aria-labelledby=mine-heading]")
            expect(mine.get_by_role("link", name="Make the referral")).to_be_visible()
            expect(mine).to_contain_text("referral")
            expect(page.get_by_role("link", name="Tell the family")).to_have_count(0)

            page.set_viewport_size(NARROW)
            assert fits_the_width(page)
            page.goto(base + "/inbox")  # not for a practitioner: the error page
            expect(page.locator("h1")).to_have_text("You do not have access to this")
            page.set_viewport_size({"width": 1280, "height": 900})
            shoot(page, "error-403")
            # The case view: the decision in the register, the telling linked under it, and the
            # referral that started.
            page.goto(f"{base}/cases/{CHILD}")
            rows = page.locator("table.register tbody tr")
            expect(rows).to_have_count(2)
            row = rows.nth(0)
            expect(row).to_contain_text("Share")
            expect(row).to_contain_text("without consent")
            expect(row).to_contain_text("Art. 6(1)(e)")
            told = page.locator("table.register tbody tr.linked")
            expect(told).to_contain_text("adds to #")
            expect(told).to_contain_text("No: Telling the parents now could put the child at risk")
            expect(
                page.get_by_role("heading", name="Referral to children's social care")
            ).to_be_visible()
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise

        # The same entry through the API, as pat's manager, who may read the cases of the team.
        status, register = running.api("mo", "GET", f"/api/sharing-records?child={CHILD}")
        assert status == 200, register
        entry, told = register["items"]
        assert told["follows"] == entry["id"] and told["subject_informed"] is False
        assert entry["decision"] == "share" and entry["with_consent"] is False
        assert "Art. 6(1)(e)" in entry["lawful_basis"] and entry["decided_by"] == "pat"
        status, instances = running.api(
            "pat", "GET", f"/api/process-instances?business_key={CHILD}"
        )
        states = {i["process_key"]: i["state"] for i in instances["items"]}
        assert states == {"information_sharing": "completed", "referral": "running"}
