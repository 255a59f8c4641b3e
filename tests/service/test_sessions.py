"""Sessions live on the server (issue 19, point 2): a copied cookie or token dies with the row.

Played as someone holding a copy of a victim's cookie: after logout, a disabled account, a
password or role change, or "sign out everywhere", the copy gets nothing, on every worker
(every app built on the database sees the same rows).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from service.app import create_app
from service.cli import main
from storage.models import ApiToken
from tests.support.helpers import assert_error, make_user
from tests.support.pages import PASSWORD, csrf_of


@pytest.fixture
def app(clocked_app):
    """The app on the test's clock, with pat, who has a password."""
    make_user(clocked_app, "pat", ["practitioner"], agency="school", password=PASSWORD)
    return clocked_app


def _browser(app, agent: str = "Firefox on the office PC", address: str = "198.51.100.7"):
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    form = client.get("/login")
    answer = client.post(
        "/login", data={"username": "pat", "password": PASSWORD, "csrf_token": csrf_of(form)}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def _copy(app, browser):
    """Another client holding a copy of ``browser``'s session cookie (an attacker's)."""
    stolen = app.test_client()
    cookie = browser.get_cookie("safeguard_session")
    stolen.set_cookie("safeguard_session", cookie.value)
    return stolen


def _token(app) -> str:
    answer = app.test_client().post(
        "/api/auth/token", json={"username": "pat", "password": PASSWORD}
    )
    return answer.get_json()["token"]


def _me(client, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/me", headers=headers)


def test_a_copied_cookie_fails_after_logout(app):
    browser = _browser(app)
    stolen = _copy(app, browser)
    assert _me(stolen).get_json()["user"]["username"] == "pat"  # the copy works while live
    browser.post("/logout", data={"csrf_token": csrf_of(browser.get("/logout"))})
    assert_error(_me(browser), 401)
    assert_error(_me(stolen), 401)
    assert stolen.get("/").status_code == 302  # pages send it to the login form


def test_the_logout_is_seen_by_every_worker(app, db_url, clock):
    browser = _browser(app)
    other_worker = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    other_worker.secret_key = app.secret_key  # one deployment, one key
    try:
        stolen = _copy(other_worker, browser)
        assert _me(stolen).status_code == 200
        browser.post("/logout", data={"csrf_token": csrf_of(browser.get("/logout"))})
        assert_error(_me(stolen), 401)
    finally:
        other_worker.extensions["safeguard"].db.dispose()


def _cli(db_url: str, *args: str, stdin: str | None = None):
    result = CliRunner().invoke(main, list(args), env={"DATABASE_URL": db_url}, input=stdin)
    assert result.exit_code == 0, result.output
    return result


def test_a_disabled_users_sessions_and_tokens_die_at_once(app, db_url):
    browser, token = _browser(app), _token(app)
    stolen = _copy(app, browser)
    assert _me(stolen).status_code == 200 and _me(app.test_client(), token).status_code == 200
    result = _cli(db_url, "users", "disable", "pat")
    assert "2 sessions and tokens ended" in result.output
    assert_error(_me(browser), 401)
    assert_error(_me(stolen), 401)
    assert_error(_me(app.test_client(), token), 401)


@pytest.mark.parametrize(
    "change",
    [
        ("users", "set-password", "pat", "--password-stdin"),
        ("users", "set-roles", "pat", "--role", "dsl"),
    ],
)
def test_a_new_password_or_new_roles_end_every_session_and_token(app, db_url, change):
    browser, token = _browser(app), _token(app)
    _cli(db_url, *change, stdin="a-brand-new-password\n")
    assert_error(_me(browser), 401)
    assert_error(_me(app.test_client(), token), 401)
    if "set-password" in change:
        assert_error(_token_answer(app, PASSWORD), 401)
        assert _token_answer(app, "a-brand-new-password").status_code == 200
    else:
        fresh = _browser(app)
        assert _me(fresh).get_json()["user"]["roles"] == ["dsl"]


def _token_answer(app, password: str):
    return app.test_client().post("/api/auth/token", json={"username": "pat", "password": password})


def test_idle_and_absolute_limits(app, clock):
    app.config["SESSION_IDLE_MINUTES"] = 30
    browser = _browser(app)
    for _ in range(16):  # used every 29 minutes: never idle, for 7 hours 44 minutes
        clock.advance(timedelta(minutes=29))
        assert _me(browser).status_code == 200
    clock.advance(timedelta(minutes=17))  # 8 hours 1 minute after signing in
    assert_error(_me(browser), 401)
    idle = _browser(app)
    clock.advance(timedelta(minutes=31))
    assert_error(_me(idle), 401)


def test_the_user_sees_their_sessions_and_ends_another(app, clock):
    office = _browser(app, "Firefox on the office PC", "198.51.100.7")
    clock.advance(timedelta(minutes=5))
    laptop = _browser(app, "Safari on a lost laptop", "203.0.113.9")
    token = _token(app)
    page = office.get("/account/sessions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Firefox on the office PC" in html and "198.51.100.7" in html
    assert "Safari on a lost laptop" in html and "203.0.113.9" in html and "API token" in html
    rows = re.findall(r'<tr class="session( current)?" data-session="([^"]+)">', html)
    assert len(rows) == 3 and sum(1 for current, _ in rows if current) == 1
    (this_one,) = [row for current, row in rows if current]
    assert "This one" in html
    laptop_row = html.split("Safari on a lost laptop")[0].rsplit('data-session="', 1)[1]
    laptop_id = laptop_row.split('"')[0]
    ended = office.post(f"/account/sessions/{laptop_id}/end", data={"csrf_token": csrf_of(page)})
    assert ended.status_code == 302 and ended.headers["Location"] == "/account/sessions"
    assert_error(_me(laptop), 401)
    assert _me(office).status_code == 200 and _me(app.test_client(), token).status_code == 200
    assert this_one != laptop_id


def test_no_one_ends_another_persons_session(app):
    make_user(app, "mallory", ["practitioner"], agency="school", password=PASSWORD)
    victim = _browser(app)
    victim_id = re.search(
        r'class="session current" data-session="([^"]+)"',
        victim.get("/account/sessions").get_data(as_text=True),
    ).group(1)
    mallory = app.test_client()
    form = mallory.get("/login")
    mallory.post(
        "/login", data={"username": "mallory", "password": PASSWORD, "csrf_token": csrf_of(form)}
    )
    page = mallory.get("/account/sessions")
    assert victim_id not in page.get_data(as_text=True)
    answer = mallory.post(f"/account/sessions/{victim_id}/end", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 404
    assert _me(victim).status_code == 200


def test_sign_out_everywhere_ends_sessions_and_tokens(app):
    office, laptop, token = _browser(app), _browser(app), _token(app)
    page = office.get("/account/sessions")
    answer = office.post("/account/sessions/end-all", data={"csrf_token": csrf_of(page)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"
    for client in (office, laptop):
        assert_error(_me(client), 401)
    assert_error(_me(app.test_client(), token), 401)
    assert _browser(app).get("/").status_code == 200  # signing in again works


def test_ending_sessions_needs_the_csrf_token(app):
    browser = _browser(app)
    assert browser.post("/account/sessions/end-all").status_code == 400
    assert _me(browser).status_code == 200


def test_tokens_have_an_idle_limit_when_configured(app, clock):
    app.config["TOKEN_IDLE_MINUTES"] = 20
    token = _token(app)
    clock.advance(timedelta(minutes=19))
    assert _me(app.test_client(), token).status_code == 200  # and now it was used
    clock.advance(timedelta(minutes=19))
    assert _me(app.test_client(), token).status_code == 200
    clock.advance(timedelta(minutes=21))
    assert_error(_me(app.test_client(), token), 401)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # one writer for the whole file
def test_a_use_is_not_recorded_by_waiting_for_a_busy_writer(app, clock):
    """A signed-in GET while a start holds SQLite's writer (a script running for its second)
    answers at once; the token's last use is written by the next flush, not lost."""
    token = _token(app)
    services = app.extensions["safeguard"]
    clock.advance(timedelta(minutes=2))
    with services.db.connect() as writer:  # BEGIN IMMEDIATE: the writer lock, held
        writer.execute(text("SELECT 1"))
        began = time.monotonic()
        assert _me(app.test_client(), token).status_code == 200
        assert time.monotonic() - began < 1.0  # SQLite's busy timeout is 30 s
        assert len(services.audit_queue) >= 1
    services.audit_queue.flush()
    with services.session_factory() as db:
        used = db.scalars(select(ApiToken.last_used_at)).one()
    assert used.replace(tzinfo=None) == clock.now().replace(tzinfo=None)
