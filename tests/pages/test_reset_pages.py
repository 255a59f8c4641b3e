"""One-time password reset links: issued by an administrator (copied, or emailed through the
real SMTP sink), used once at ``/reset/<token>``, dead after ``PASSWORD_RESET_HOURS``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.pages.test_admin_pages import changes, post, signed_out
from tests.support.pages import PASSWORD, csrf_of, sign_in
from tests.support.smtp_sink import SmtpSink
from workflows.clock import FrozenClock

PEOPLE = {
    "ada": {"roles": ["admin"], "agency": "partnership"},
    "pat": {"roles": ["practitioner"], "agency": "school", "email": "pat@school.example"},
    "sid": {"roles": ["practitioner"], "agency": "school"},
}
NEW = "a-fresh-long-password"


@pytest.fixture
def clock():
    return FrozenClock(datetime(2025, 3, 3, 9, 0, tzinfo=UTC))


@pytest.fixture
def app(page_app, clock):
    return page_app(PEOPLE, clock=clock)


@pytest.fixture
def admin(app):
    return sign_in(app, "ada")


def issue(admin, username: str = "pat") -> str:
    """The path of a link issued to copy (what the administrator's page shows once)."""
    page = post(admin, f"/admin/users/{username}", f"/admin/users/{username}/reset-link", {})
    assert page.status_code == 200, page.get_data(as_text=True)
    link = re.search(
        r'id="reset-link" class="reset-link" value="([^"]+)"', page.get_data(as_text=True)
    )
    return urlsplit(link.group(1)).path


def choose(client, path: str, password: str = NEW, confirm: str | None = None):
    form = client.get(path)
    assert form.status_code == 200, form.get_data(as_text=True)
    data = {"password": password, "confirm": password if confirm is None else confirm}
    return client.post(path, data={**data, "csrf_token": csrf_of(form)})


def test_a_copied_link_sets_a_new_password_once_and_signs_them_out(app, admin):
    pat = sign_in(app, "pat")
    path = issue(admin)
    assert path.startswith("/reset/") and len(path) > 40
    stranger = app.test_client()
    assert "For <strong>pat</strong>" in stranger.get(path).get_data(as_text=True)
    answer = choose(stranger, path)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert signed_out(pat)
    with pytest.raises(AssertionError):
        sign_in(app, "pat", PASSWORD)
    assert sign_in(app, "pat", NEW).get("/account/sessions").status_code == 200
    assert app.test_client().get(path).status_code == 410  # spent
    again = app.test_client()
    assert again.post(path, data={"password": NEW, "confirm": NEW}).status_code in (400, 410)
    [issued] = changes(app, "admin_users.reset_link")
    assert issued == {
        "method": "POST",
        "username": "pat",
        "reset_link": {"delivery": "copy", "expires_at": "2025-03-04T09:00:00+00:00"},
    }
    token = path.rsplit("/", 1)[1]
    assert token not in str(changes(app, "reset.reset"))
    assert [e.get("method") for e in changes(app, "reset.reset")] == ["POST"]


@pytest.mark.parametrize(
    ("password", "confirm", "field"),
    [("short", "short", "password"), (NEW, NEW + "x", "confirm")],
)
def test_a_bad_new_password_is_422_naming_the_field_and_the_link_still_works(
    app, admin, password, confirm, field
):
    path = issue(admin)
    client = app.test_client()
    answer = choose(client, path, password, confirm)
    assert answer.status_code == 422
    assert f'id="error-{field}"' in answer.get_data(as_text=True)
    assert choose(client, path).status_code == 302


def test_a_link_is_dead_after_its_hours_and_a_newer_link_ends_the_older(app, admin, clock):
    first = issue(admin)
    second = issue(admin)
    assert app.test_client().get(first).status_code == 410
    clock.advance(timedelta(hours=24, seconds=1))
    assert app.test_client().get(second).status_code == 410
    assert app.test_client().get("/reset/" + "A" * 43).status_code == 410


def test_a_disabled_persons_link_does_nothing(app, admin):
    path = issue(admin)
    assert post(admin, "/admin/users/pat", "/admin/users/pat/disable", {}).status_code == 302
    assert app.test_client().get(path).status_code == 410


def test_an_emailed_link_goes_through_smtp_and_works(app, admin):
    with SmtpSink() as sink:
        app.config["SMTP_URL"] = sink.url
        page = admin.get("/admin/users/pat").get_data(as_text=True)
        assert "Send a reset link to pat@school.example" in page
        sent = post(admin, "/admin/users/pat", "/admin/users/pat/reset-link", {"delivery": "email"})
        assert sent.status_code == 302
        [(to, message)] = sink.received(1)
    assert to == ["pat@school.example"]
    assert message["Subject"] == "Choose a new safeguard-flow password"
    body = SmtpSink.text(message)
    link = re.search(r"http://\S+/reset/\S+", body).group(0)
    assert "works once, until 04 Mar 2025 09:00 UTC" in body
    assert choose(app.test_client(), urlsplit(link).path).status_code == 302
    assert sign_in(app, "pat", NEW).get("/account/sessions").status_code == 200
    [issued] = changes(app, "admin_users.reset_link")
    assert issued["reset_link"]["delivery"] == "email"


def test_email_is_refused_naming_the_field_when_it_cannot_be_sent(app, admin):
    no_address = post(
        admin, "/admin/users/sid", "/admin/users/sid/reset-link", {"delivery": "email"}
    )
    assert no_address.status_code == 422
    assert "sid has no email address" in no_address.get_data(as_text=True)
    no_smtp = post(admin, "/admin/users/pat", "/admin/users/pat/reset-link", {"delivery": "email"})
    assert no_smtp.status_code == 422
    assert "email is not set up (SMTP_URL)" in no_smtp.get_data(as_text=True)
    assert changes(app, "admin_users.reset_link") == []
