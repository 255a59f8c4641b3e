"""Odd input never answers 500 (issue 14, point 7): lone surrogates on every route, and
redirects that never name a forged Host (service/input_guard.py, service/pages/auth.py)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from service.app import create_app
from tests.support.helpers import assert_error, make_user
from tests.support.pages import csrf_of

PASSWORD = "correct-horse-battery"
JSON = {"Content-Type": "application/json"}
LONE = "\\ud800"  # as written inside a JSON text
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
EVIL = "evil.example"


def _concrete(rule) -> str:
    """The rule's path with every variable filled in (``<task_id>`` → ``x``)."""
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "x", rule.rule)


def _changing_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & CHANGING):
            if rule.endpoint != "static":
                routes.append((method, _concrete(rule)))
    return sorted(set(routes))


def test_a_lone_surrogate_in_json_is_400_on_every_route(app, client, anonymous):
    routes = _changing_routes(app)
    assert ("POST", "/api/auth/token") in routes and ("POST", "/login") in routes
    bodies = [
        '{"name": "' + LONE + '"}',
        '{"' + LONE + '": 1}',
        '{"data": {"a": ["ok", "\\udfff"]}}',
        b'{"name": "\xed\xa0\x80"}',  # the surrogate's bytes: not UTF-8
    ]
    for method, path in routes:
        for who in (client, anonymous):
            for body in bodies:
                response = who.open(path, method=method, data=body, headers=JSON)
                assert response.status_code == 400, (method, path, body, response.status_code)
    error = assert_error(
        anonymous.post(
            "/api/auth/token", data='{"username": "' + LONE + '", "password": "x"}', headers=JSON
        ),
        400,
        "invalid_text",
    )
    assert error["details"] == [{"field": "username", "message": "contains a lone surrogate"}]
    nested = client.post(
        "/api/process-instances",
        data='{"process_key": "three_steps", "variables": {"note": "a' + LONE + '"}}',
        headers=JSON,
    )
    assert assert_error(nested, 400, "invalid_text")["details"][0]["field"] == "variables.note"


def test_a_surrogate_pair_is_text(client, deployed):
    response = client.post(
        "/api/process-instances",
        data='{"process_key": "three_steps", "variables": {"note": "\\ud83d\\ude00"}}',
        headers=JSON,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["variables"]["note"] == "\U0001f600"


def test_surrogates_in_paths_queries_and_forms_never_answer_500(app, client, anonymous):
    encoded = "%ED%A0%80"
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", encoded, rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for who in (client, anonymous):
                form = {"Content-Type": "application/x-www-form-urlencoded"}
                response = who.open(
                    f"{path}?q={encoded}&{encoded}=1",
                    method=method,
                    data=f"username={encoded}&{encoded}=x",
                    headers=form,
                )
                assert response.status_code < 500, (method, path, response.status_code)


@pytest.fixture
def browser(app):
    """A browser whose every request carries a forged ``Host``."""
    make_user(app, "pat", ["practitioner"], agency="school", password=PASSWORD)
    app.test_client_class = ForgedHost
    try:
        return app.test_client()
    finally:
        app.test_client_class = None


class ForgedHost(FlaskClient):
    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", f"http://{EVIL}")
        response = super().open(*args, **kwargs)
        assert response.request.host == EVIL  # the forged header did reach the app
        return response


def test_the_login_form_with_a_surrogate_is_not_500(browser):
    token = csrf_of(browser.get("/login"))
    response = browser.post(
        "/login",
        data=f"username=%ED%A0%80&password=x&csrf_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401  # decoded as U+FFFD by werkzeug: an unknown name


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/%09/evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "/%0d%0a//evil.example",
    ],
)
def test_login_never_redirects_to_another_site(browser, target):
    token = csrf_of(browser.get("/login"))
    answer = browser.post(
        f"/login?next={target}",
        data={"username": "pat", "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


def test_no_redirect_names_a_forged_host(app, browser):
    paths = ["/", "/tasks/x", "/inbox", "/start/three_steps", "/api//tasks", "/reports"]
    for path in paths:
        answer = browser.get(path)
        location = answer.headers.get("Location")
        assert location is not None and location.startswith("/"), (path, location)
        assert EVIL not in location and not location.startswith("//"), (path, location)
    token = csrf_of(browser.get("/login"))
    signed_in = browser.post(
        "/login",
        data={"username": "pat", "password": PASSWORD, "csrf_token": token},
    )
    assert signed_in.headers["Location"] == "/"
    logout = browser.post("/logout", data={"csrf_token": csrf_of(browser.get("/"))})
    assert logout.headers["Location"] == "/login"


def test_trusted_hosts_refuse_any_other_host(db_url):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "TRUSTED_HOSTS": ["localhost"]})
    try:
        client = app.test_client()
        assert client.get("/login").status_code == 200
        refused = client.get("/login", headers={"Host": EVIL})
        assert refused.status_code == 400
        assert EVIL not in (refused.headers.get("Location") or "")
    finally:
        app.extensions["safeguard"].db.dispose()
