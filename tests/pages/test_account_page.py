"""The "Your sessions" page as a signed-in person meets it: linked from every page's header,
served under the CSP, and ending another browser's session from it signs that browser out."""

from __future__ import annotations

import re

import pytest

from tests.support.pages import assert_clean, csrf_of, sign_in


@pytest.fixture
def app(page_app):
    return page_app({"pat": {"roles": ["practitioner"], "agency": "school"}})


def test_the_header_links_to_your_sessions_and_the_page_ends_another(app):
    phone, desk = sign_in(app), sign_in(app)
    home = desk.get("/").get_data(as_text=True)
    assert 'href="/account/sessions"' in home
    page = desk.get("/account/sessions")
    assert page.status_code == 200
    assert_clean(page)
    html = page.get_data(as_text=True)
    others = re.findall(r'<tr class="session" data-session="([^"]+)">', html)
    assert len(others) == 1  # the phone; the desk is "This one"
    ended = desk.post(f"/account/sessions/{others[0]}/end", data={"csrf_token": csrf_of(page)})
    assert ended.status_code == 302
    assert "That session is ended" in desk.get("/account/sessions").get_data(as_text=True)
    assert phone.get("/").status_code == 302  # the phone is sent to the login form
    assert desk.get("/").status_code == 200


def test_signed_out_people_are_sent_to_the_login_form(app):
    answer = app.test_client().get("/account/sessions")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
