"""Sign-in that cannot be turned against users (issue 19, point 3), played as the attacker.

The throttle counts failures per client address and name, and per address; never per account.
So an attacker's guesses cannot lock the owner out from elsewhere, and nothing the service says
or how long it takes tells a real name from an invented one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from service import auth, trail
from tests.service.test_observability import scrape
from tests.support.helpers import assert_error, auditor_client, make_user
from tests.support.pages import PASSWORD, csrf_of

ATTACKER, OWNER = "203.0.113.66", "198.51.100.7"


@pytest.fixture
def app(clocked_app):
    """The app on the test's clock, with pat, who has a password."""
    make_user(clocked_app, "pat", ["practitioner"], agency="school", password=PASSWORD)
    return clocked_app


def _from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _token(client, username: str = "pat", password: str = PASSWORD):
    return client.post("/api/auth/token", json={"username": username, "password": password})


def test_an_attackers_guesses_leave_the_owner_able_to_sign_in_from_elsewhere(app, clock):
    attacker, owner = _from(app, ATTACKER), _from(app, OWNER)
    for _ in range(10):  # enough to lock the old per-account counter for 15 minutes
        assert _token(attacker, password="guess-guess-guess").status_code in (401, 429)
        clock.advance(timedelta(minutes=3))  # waiting out every backoff
    assert_error(_token(attacker), 429)  # the attacker's own address is held back...
    response = _token(owner)  # ...the owner, from theirs, is not
    assert response.status_code == 200, response.get_json()
    browser = owner.get("/login")
    assert browser.status_code == 200


def test_the_attacker_is_slowed_with_backoff_per_address_and_name(app, clock):
    attacker = _from(app, ATTACKER)
    for _ in range(3):
        assert_error(_token(attacker, password="guess-guess-guess"), 401)
    first = assert_error(_token(attacker, password="guess-guess-guess"), 429, "slow_down")
    assert "2 seconds" in first["message"]
    clock.advance(timedelta(seconds=2))
    assert_error(_token(attacker, password="guess-guess-guess"), 401)
    assert _token(attacker, password="guess-guess-guess").headers["Retry-After"] == "4"


def _replies(app, clock, username: str) -> list[tuple[int, str, str | None]]:
    """What one address sees trying ``username`` with wrong passwords, waits included."""
    client = _from(app, f"192.0.2.{len(username)}")
    seen = []
    for step in range(7):
        response = _token(client, username, "not-the-password")
        error = response.get_json()["error"]
        seen.append((response.status_code, error["message"], response.headers.get("Retry-After")))
        if step == 4:
            clock.advance(timedelta(seconds=2))
    return seen


def test_known_and_unknown_names_answer_alike(app, clock, monkeypatch):
    verified = []
    real_verify = auth._verify
    monkeypatch.setattr(auth, "_verify", lambda h, p: verified.append(1) or real_verify(h, p))
    known = _replies(app, clock, "pat")
    known_hashes = len(verified)
    unknown = _replies(app, clock, "pax")  # same length: another address of the same shape
    assert known == unknown
    assert [status for status, _, _ in known] == [401, 401, 401, 429, 429, 401, 429]
    # The same work behind each answer: one password hash per attempt let through, named or not.
    assert known_hashes == len(verified) - known_hashes == 4


def test_one_address_spraying_many_names_is_slowed(app, clock):
    app.config["LOGIN_ADDRESS_FREE_FAILURES"] = 6  # 30 by default: each attempt hashes
    sprayer = _from(app, ATTACKER)
    statuses = [_token(sprayer, f"user{n}", "password-password").status_code for n in range(7)]
    assert statuses == [401] * 6 + [429]
    assert_error(_token(sprayer), 429, "slow_down")  # even the right password, from there
    assert _token(_from(app, OWNER)).status_code == 200  # other addresses are not slowed
    clock.advance(timedelta(seconds=2))
    assert _token(sprayer).status_code == 200  # and the wait is short, not a lock


def test_failed_sign_ins_are_counted_and_audited_as_unverified(app, clock):
    attacker = _from(app, ATTACKER)
    long_name = "\x07robert'); DROP TABLE app_user;--" + "x" * 40
    assert_error(_token(attacker, long_name, "nope-nope-nope"), 401)
    assert_error(_token(attacker, "pat", "nope-nope-nope"), 401)
    assert _token(attacker).status_code == 200
    trail.flush(app)
    events = auditor_client(app).get("/api/audit?limit=20").get_json()["items"]
    signs = [e for e in events if e["action"] == "auth.create_token"]
    failed = [e for e in signs if e["outcome"] == "invalid_credentials"]
    claimed = sorted(e["actor"] for e in failed)
    assert claimed == ["?" + long_name[1:32], "pat"]  # cut to 32, no control characters
    assert all(e["detail"]["unverified"] is True for e in failed)
    ok = [e for e in signs if e["outcome"] == "ok"]
    assert [e["actor"] for e in ok] == ["pat"] and not ok[0]["detail"].get("unverified")
    counts = scrape(app.test_client())["safeguard_sign_ins_total"]
    assert counts[(("outcome", "invalid_credentials"),)] == 2
    assert counts[(("outcome", "ok"),)] == 1


def test_the_login_form_throttles_alike(app):
    attacker = _from(app, ATTACKER)
    csrf = csrf_of(attacker.get("/login"))
    answers = [
        attacker.post(
            "/login", data={"username": "nobody", "password": "guess", "csrf_token": csrf}
        ).status_code
        for _ in range(4)
    ]
    assert answers == [401, 401, 401, 429]
    make_user(app, "olive", ["process_owner"], password=PASSWORD)
    signed_in = _from(app, OWNER)
    csrf = csrf_of(signed_in.get("/login"))
    answer = signed_in.post(
        "/login", data={"username": "olive", "password": PASSWORD, "csrf_token": csrf}
    )
    assert answer.status_code == 302


def test_guesses_sent_at_once_are_all_counted(app):
    """Concurrent failures are counted with atomic increments: none is lost to a race."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(
            pool.map(
                lambda _: _token(_from(app, ATTACKER), password="guess-guess-guess").status_code,
                range(3),
            )
        )
    assert answers == [401, 401, 401]
    assert_error(_token(_from(app, ATTACKER)), 429, "slow_down")
