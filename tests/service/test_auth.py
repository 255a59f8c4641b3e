"""Two ways in: bearer tokens for API clients, a session cookie with CSRF for browsers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service.app import create_app
from service.context import services
from storage import UnitOfWork
from storage.models import ApiToken
from tests.support.helpers import THREE_STEPS, assert_error, deploy_xml, make_user
from workflows.clock import FrozenClock

PASSWORD = "correct-horse-battery"


@pytest.fixture
def clock():
    return FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


@pytest.fixture
def app(db_url, clock):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    make_user(app, "pat", ["practitioner"], agency="school", password=PASSWORD)
    yield app
    app.extensions["safeguard"].db.dispose()


def _token(client, username="pat", password=PASSWORD):
    return client.post("/api/auth/token", json={"username": username, "password": password})


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_issued_used_and_revoked(app, anonymous, clock):
    response = _token(anonymous)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["user"]["username"] == "pat" and body["user"]["roles"] == ["practitioner"]
    assert datetime.fromisoformat(body["expires_at"]) == clock.now() + timedelta(hours=8)
    me = anonymous.get("/api/me", headers=_bearer(body["token"]))
    assert me.get_json()["user"]["username"] == "pat"
    assert "csrf_token" not in me.get_json()  # token callers need no CSRF

    assert anonymous.delete("/api/auth/token", headers=_bearer(body["token"])).status_code == 204
    assert_error(anonymous.get("/api/me", headers=_bearer(body["token"])), 401, "unauthorized")


def test_only_a_hash_of_the_token_is_stored(app, anonymous):
    token = _token(anonymous).get_json()["token"]
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        stored = uow.session.scalars(select(ApiToken.token_hash)).all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_an_expired_token_is_refused(app, anonymous, clock):
    token = _token(anonymous).get_json()["token"]
    clock.advance(timedelta(hours=8, seconds=1))
    assert_error(anonymous.get("/api/me", headers=_bearer(token)), 401)


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer nonsense", "Basic cGF0OnB3", "Token abc", "Bearer " + "x" * 300]
)
def test_a_bad_authorization_header_is_401(anonymous, header):
    error = assert_error(anonymous.get("/api/me", headers={"Authorization": header}), 401)
    assert "token" in error["message"].lower() or "bearer" in error["message"].lower()


def test_no_credentials_is_401_on_the_api_and_a_login_redirect_on_pages(anonymous):
    assert_error(anonymous.get("/api/process-instances"), 401, "unauthorized")
    assert_error(anonymous.post("/api/process-instances", json={}), 401, "unauthorized")
    page = anonymous.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_wrong_password_and_unknown_user_get_the_same_answer(anonymous):
    wrong = assert_error(_token(anonymous, password="nope-nope-nope"), 401, "invalid_credentials")
    unknown = assert_error(_token(anonymous, username="nobody"), 401, "invalid_credentials")
    assert wrong["message"] == unknown["message"]


def test_repeated_failures_slow_down_then_lock(anonymous, clock):
    for _ in range(3):  # free failures
        assert_error(_token(anonymous, password="wrong-password"), 401)
    slowed = _token(anonymous)  # even the right password must wait now
    assert_error(slowed, 429, "slow_down")
    assert slowed.headers["Retry-After"] == "2"
    clock.advance(timedelta(seconds=2))
    assert_error(_token(anonymous, password="wrong-password"), 401)  # 4 failures
    assert _token(anonymous).status_code == 429  # now 4 s to wait
    assert _token(anonymous).headers["Retry-After"] == "4"
    waits = 4
    for _ in range(6):  # failures 5..10: the tenth locks the account
        clock.advance(timedelta(seconds=waits))
        assert_error(_token(anonymous, password="wrong-password"), 401)
        waits *= 2
    clock.advance(timedelta(hours=1) - timedelta(minutes=50))  # 10 minutes later: still locked
    assert_error(_token(anonymous), 429, "locked")
    clock.advance(timedelta(minutes=6))
    response = _token(anonymous)
    assert response.status_code == 200, response.get_json()
    # Success resets the count: a wrong password afterwards is just a 401.
    assert_error(_token(anonymous, password="wrong-password"), 401)


def test_a_disabled_user_cannot_sign_in_and_loses_their_tokens(app, anonymous):
    token = _token(anonymous).get_json()["token"]
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        from storage.models import User

        uow.session.scalars(select(User).where(User.username == "pat")).one().active = False
        uow.commit()
    assert_error(_token(anonymous), 401, "invalid_credentials")
    assert_error(anonymous.get("/api/me", headers=_bearer(token)), 401)


# -- browser sessions ---------------------------------------------------------------------------
def _csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _browser_login(client, password=PASSWORD, next_url=""):
    form = client.get("/login")
    assert form.status_code == 200
    csrf = _csrf_from(form.get_data(as_text=True))
    return client.post(
        f"/login{next_url}",
        data={"username": "pat", "password": password, "csrf_token": csrf},
    )


def test_browser_login_sets_a_strict_session_cookie(anonymous):
    response = _browser_login(anonymous)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert anonymous.get("/").status_code == 200
    assert anonymous.get("/api/me").get_json()["user"]["username"] == "pat"


def test_the_session_cookie_is_secure_over_https(app):
    client = app.test_client()
    form = client.get("/login", base_url="https://localhost")
    response = client.post(
        "/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
        data={
            "username": "pat",
            "password": PASSWORD,
            "csrf_token": _csrf_from(form.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Secure" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in response.headers


def test_login_without_csrf_token_is_refused(anonymous):
    response = anonymous.post("/login", data={"username": "pat", "password": PASSWORD})
    assert response.status_code == 400 and response.mimetype == "text/html"  # a page
    assert "Reload and try again" in response.text
    assert anonymous.get("/").status_code == 302  # not signed in


def test_wrong_password_in_the_browser_shows_the_form_again(anonymous):
    response = _browser_login(anonymous, password="wrong-password")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Wrong username or password." in page and 'value="pat"' in page
    assert anonymous.get("/").status_code == 302


def test_login_never_redirects_to_another_site(anonymous):
    response = _browser_login(anonymous, next_url="?next=//evil.example/x")
    assert response.headers["Location"] == "/"
    anonymous.post("/logout", data={"csrf_token": _csrf_from(anonymous.get("/").text)})
    response = _browser_login(anonymous, next_url="?next=/api/me")
    assert response.headers["Location"] == "/api/me"


def test_unsafe_api_calls_with_the_session_need_the_csrf_header(app, anonymous):
    make_user(app, "olive", ["process_owner", "practitioner"], password=PASSWORD)
    form = anonymous.get("/login")
    anonymous.post(
        "/login",
        data={
            "username": "olive",
            "password": PASSWORD,
            "csrf_token": _csrf_from(form.get_data(as_text=True)),
        },
    )
    assert_error(deploy_xml(anonymous), 400, "csrf_failed")
    token = anonymous.get("/api/me").get_json()["csrf_token"]
    response = anonymous.post(
        "/api/process-definitions",
        data=THREE_STEPS,
        headers={"Content-Type": "application/xml", "X-CSRFToken": token},
    )
    assert response.status_code == 201, response.get_json()
    started = anonymous.post(
        "/api/process-instances", json={"process_key": "three_steps"}, headers={"X-CSRFToken": "x"}
    )
    assert_error(started, 400, "csrf_failed")


def test_logout_ends_the_session(anonymous):
    _browser_login(anonymous)
    csrf = _csrf_from(anonymous.get("/").get_data(as_text=True))
    response = anonymous.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 302
    assert_error(anonymous.get("/api/me"), 401)


def test_the_session_expires(anonymous, clock):
    _browser_login(anonymous)
    clock.advance(timedelta(hours=8, minutes=1))
    assert_error(anonymous.get("/api/me"), 401)


# -- security headers ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/login", "/api/me", "/healthz", "/api/nowhere"])
def test_every_response_carries_the_security_headers(anonymous, path):
    headers = anonymous.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
