"""At a real browser: ending another browser's session from "Your sessions" signs it out.

Two browser contexts stand for two devices of one person; the desk ends the phone's session,
and the phone's next click lands on the login form.
"""

from __future__ import annotations

import pytest

from tests.browser.casework import sign_in
from tests.browser.served import browser_page, served


@pytest.fixture
def service(tmp_path):
    with served(tmp_path, {"pat": (["practitioner"], "school")}) as running:
        yield running


@pytest.mark.slow
def test_ending_the_other_session_signs_that_browser_out(service, tmp_path):
    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as desk:
        phone_context = desk.context.browser.new_context()
        phone = phone_context.new_page()
        sign_in(phone, base, "pat")
        sign_in(desk, base, "pat")
        desk.click("text=Your sessions")
        desk.wait_for_url(base + "/account/sessions")
        assert desk.locator("tr.session").count() == 2
        assert desk.locator("tr.session.current").count() == 1
        desk.locator("tr.session:not(.current) button").click()
        desk.wait_for_url(base + "/account/sessions")
        assert desk.locator("tr.session").count() == 1
        assert "That session is ended" in desk.content()
        phone.reload()
        assert phone.url.startswith(base + "/login")
        phone_context.close()
