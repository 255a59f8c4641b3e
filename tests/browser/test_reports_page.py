"""The Board's report in Chromium: charts drawn by the server, small numbers suppressed, a CSV.

Six "Should I share?" requests end at once with "no legitimate purpose" (six "not share"
entries); a Board member reads the report: the charts render with no script error or CSP
refusal, the six are counted, and no child's identifier is on the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.served import browser_page, served, sign_in
from tests.browser.shots import shoot
from tests.browser.test_case_view import decide_not_to_share

CHILDREN = [f"CH-5550{n}" for n in range(6)]


@pytest.fixture
def service(tmp_path):
    users = {"mo": (["practitioner", "manager"], "school"), "bea": (["board"], "partnership")}
    with served(tmp_path, users) as running:
        yield running


@pytest.mark.slow
def test_the_board_reads_the_sharing_report(service, tmp_path):
    from playwright.sync_api import expect

    for child in CHILDREN:
        decide_not_to_share(service, child)
    base = f"http://127.0.0.1:{service.port}"

    with browser_page(service, tmp_path, width=1280, height=900) as page:
        sign_in(page, base, "bea")
        page.get_by_role("link", name="Reports").click()
        expect(page.locator("h1")).to_have_text("Information sharing: report for the Board")
        charts = page.locator("figure.chart svg")
        expect(charts.first).to_be_visible()
        assert charts.count() >= 4
        decisions = page.locator("section[aria-labelledby=decisions-heading]")
        expect(decisions).to_contain_text("6")
        # Every label starts inside its chart: none runs off the left edge.
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('figure.chart svg')].flatMap(svg => {
                const left = svg.getBoundingClientRect().left;
                return [...svg.querySelectorAll('text[text-anchor=end]')]
                    .filter(t => t.getBoundingClientRect().left < left - 0.5)
                    .map(t => t.textContent);
            })"""
        )
        assert clipped == []
        text = page.locator("main").inner_text()
        assert not any(child in text for child in CHILDREN)
        shoot(page, "reports")

        with page.expect_download() as download:
            page.get_by_role("link", name="Download this report as CSV").click()
        saved = download.value.path()
        csv_text = Path(saved).read_text(encoding="utf-8-sig")
        assert csv_text.startswith("section,item,measure,value")
        assert not any(child in csv_text for child in CHILDREN)
