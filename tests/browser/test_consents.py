"""The consent register and the chronology in Chromium, against ``safeguard serve`` with the
shipped diagrams: a practitioner records a consent and withdraws the one early help recorded,
her manager weighs the withdrawal and the early-help plan stops; the manager prints the
chronology and downloads it as a PDF made on the server, whose text is read back.
"""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from tests.browser.casework import (
    NARROW,
    WIDE,
    casework,
    choose,
    chromium,
    fits_the_width,
    new_page,
    sign_in,
)
from tests.browser.served import watch_console
from tests.browser.shots import shoot

CHILD = "CH-30518"
# Early help up to its plan: explained, consent given (the diagram records it), assessed.
STEPS = [
    ("explain_sharing", {"explained": True, "explained_on": "2026-03-02"}),
    (
        "seek_consent",
        {
            "consent_outcome": "given",
            "consent_agencies": "school, health",
            "consent_purposes": "early help assessment",
            "consent_given_by": "mother",
            "consent_how": "written",
        },
    ),
    ("complete_assessment", {"needs": "Housing, school attendance", "lead_professional": "Pat"}),
]


def _early_help_under_way(running) -> str:
    status, started = running.api(
        "pat",
        "POST",
        "/api/process-instances",
        {"process_key": "early_help_caf", "business_key": CHILD},
    )
    assert status == 201, started
    for element_id, data in STEPS:
        _, body = running.api("pat", "GET", f"/api/process-instances/{started['id']}")
        [task] = [t for t in body["active_tasks"] if t["element_id"] == element_id]
        status, done = running.api(
            "pat", "POST", f"/api/tasks/{task['id']}/complete", {"data": data}
        )
        assert status == 200, done
    return started["id"]


def _unlabelled(page) -> list[str]:
    """Form controls a screen reader could not name (hidden inputs aside)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, select')]
        .filter(el => el.type !== 'hidden' && el.labels.length === 0)
        .map(el => el.id || el.name)"""
    )


@pytest.mark.slow
def test_a_withdrawn_consent_stops_early_help_and_the_chronology_prints(tmp_path):
    from playwright.sync_api import expect

    with casework(tmp_path) as running, chromium(running.chromium) as browser:
        instance_id = _early_help_under_way(running)
        base = running.base
        page = new_page(browser)
        problems = watch_console(page)
        try:
            sign_in(page, base, "pat")
            page.goto(f"{base}/cases/{CHILD}")
            page.get_by_role("link", name=f"Consents of {CHILD}").click()
            expect(page.locator("h1")).to_have_text(f"Consents of {CHILD}")
            mother = page.locator("article.consent").filter(has_text="mother")
            expect(mother).to_contain_text("school, health")
            expect(mother).to_contain_text("early help assessment")
            expect(mother).to_contain_text("written")
            expect(mother).to_contain_text("by pat")
            assert _unlabelled(page) == []

            # A consent the child gave herself, recorded from the form.
            page.fill("#person", "child")
            page.check("#agency-school")
            page.fill("#purposes", "Attendance support")
            choose(page, "how", "verbal")
            page.click("button:text('Record consent')")
            expect(page.locator(".flash")).to_have_text("Consent recorded")
            child = page.locator("article.consent").filter(has_text="Attendance support")
            expect(child).to_contain_text("verbal")
            expect(page.locator("article.consent")).to_have_count(2)

            # The mother withdraws hers: keyboard from the summary to the reason.
            mother.locator("summary").click()
            page.keyboard.press("Tab")
            expect(page.locator(":focus")).to_have_attribute("name", "reason")
            page.keyboard.type("Family moved out of the area")
            mother.get_by_role("button", name="Withdraw consent").click()
            expect(page.locator(".flash")).to_have_text("Consent withdrawn")
            expect(mother).to_have_class(re.compile(r"\bwithdrawn\b"))
            expect(mother).to_contain_text("Family moved out of the area")
            expect(mother.locator("summary")).to_have_count(0)
            shoot(page, "consents")
            page.set_viewport_size(NARROW)
            assert fits_the_width(page)
            page.set_viewport_size(WIDE)
            page.goto(base + "/logout")
            page.context.clear_cookies()

            # Her manager weighs the withdrawal, and respects it: the plan stops.
            sign_in(page, base, "mo")
            page.get_by_role("link", name="Proportionality check on the withdrawal").click()
            choose(page, "proportionality_decision", "respect_withdrawal")
            page.fill("#justification", "No safeguarding concern outweighs the withdrawal")
            page.click("button:text('Submit')")
            expect(page.locator(".flash")).to_have_text("Done")
            page.goto(f"{base}/cases/{CHILD}")
            expect(page.locator(f"#instance-{instance_id} .state")).to_have_text("completed")
            entry = page.locator("table.register tbody tr")
            expect(entry).to_contain_text("Not share")
            expect(entry).to_contain_text("Consent withdrawn (Family moved out of the area)")

            # The chronology: on screen, for print, and as the server's PDF.
            page.get_by_role("link", name="Chronology (to print or download)").click()
            expect(page.locator("h1")).to_have_text(f"Chronology of case {CHILD}")
            events = page.locator("ol.chronology .entry-what")
            expect(events.first).to_have_text("Early help with consent started")
            for event in ("Consent withdrawn: mother", "Early help with consent ended"):
                expect(events.filter(has_text=event)).to_have_count(1)
            page.emulate_media(media="print")
            expect(page.locator("header.site")).to_be_hidden()
            expect(page.get_by_role("link", name="Download as PDF")).to_be_hidden()
            page.emulate_media(media="screen")
            page.set_viewport_size(NARROW)
            assert fits_the_width(page)
            page.set_viewport_size(WIDE)
            shoot(page, "chronology")
            with page.expect_download() as download:
                page.get_by_role("link", name="Download as PDF").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            assert problems == [], "\n".join(problems)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise

        assert saved.name == f"chronology-{CHILD}.pdf"
        text = " ".join(p.extract_text() for p in PdfReader(saved).pages)
        text = re.sub(r"\s+", " ", text)
        order = [
            "Early help with consent started",
            "Consent recorded: mother (written)",
            "Consent recorded: child (verbal)",
            "Consent withdrawn: mother",
            "Decided not to share",  # and the plan ended, the same minute
        ]
        found = [text.find(event) for event in order]
        assert -1 not in found and found == sorted(found), text
        assert "Family moved out of the area" in text and "Early help with consent ended" in text
