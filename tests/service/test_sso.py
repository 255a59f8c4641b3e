"""Single sign-on with OpenID Connect (issue 19, point 1), against a real provider on loopback.

The service fetches the provider's discovery document, JWKS and tokens over HTTP; the test plays
the browser: the service's redirect, the provider's page, the way back. Then it plays the
attacker: a token signed with another key, another nonce, audience or issuer, a stale token, a
state that is not the browser's, a replayed answer, a disabled account.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import select

from service import trail
from service.app import create_app
from service.context import services
from service.identity_providers import from_data
from service.users import disable_user
from storage import UnitOfWork
from storage.models import ExternalIdentity, User
from tests.service.test_observability import scrape
from tests.support.helpers import auditor_client, make_user
from tests.support.oidc_provider import running_provider, sign_in_at_provider

BASE = "http://localhost"
PEOPLE = {
    "sam": {
        "sub": "248289761001",
        "preferred_username": "sam.reid",
        "name": "Sam Reid",
        "email": "sam.reid@northshire.example",
        "groups": ["CSC-MASH", "All-Staff"],
        "roles": ["csc_manager", "superuser"],
        "org": "childrens_social_care",
        "manager": "cara",
    },
    "pat": {"sub": "pat-at-school", "preferred_username": "pat", "name": "Pat Jones"},
    "ned": {"sub": "ned-at-school", "preferred_username": "ned", "name": "Ned New"},
    "nobody": {"sub": "no-groups", "preferred_username": "nora", "groups": ["All-Staff"]},
}


def _settings(issuer: str, secret: str) -> dict:
    common = {"issuer": issuer, "client_id": "safeguard-flow", "client_secret": secret}
    return {
        "providers": [
            {
                # A council whose groups and claims say who people are: it is the truth.
                "name": "council",
                "label": "Northshire Council",
                **common,
                "scopes": ["openid", "profile", "email", "groups"],
                "create_users": True,
                "roles_claim": "roles",
                "groups_claim": "groups",
                "group_roles": {"CSC-MASH": ["csc"], "Leads": ["dsl"]},
                "agency_claim": "org",
                "manager_claim": "manager",
            },
            # A school trust that only vouches for who people are: roles stay local.
            {"name": "school", "label": "Oak Trust", **common},
        ]
    }


@pytest.fixture
def provider(clock):
    uris = [f"{BASE}/login/sso/council/callback", f"{BASE}/login/sso/school/callback"]
    people = {name: dict(claims) for name, claims in PEOPLE.items()}
    with running_provider(people, uris, now=lambda: clock.now().timestamp()) as running:
        yield running


@pytest.fixture
def app(db_url, clock, provider):
    providers = from_data(_settings(provider.issuer, provider.client.client_secret), {})
    config = {
        "DATABASE_URL": db_url,
        "TESTING": True,
        "BASE_URL": BASE,
        "OIDC_PROVIDERS": providers,
    }
    app = create_app(config, clock=clock)
    make_user(app, "cara", ["csc_manager"], agency="childrens_social_care")
    make_user(app, "pat", ["practitioner"], agency="school")
    yield app
    app.extensions["safeguard"].db.dispose()


def _path(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("", "", parts.path, parts.query, ""))


def _sso(client, who: str, name: str = "council", start: str = ""):
    """Sign in at the provider as ``who``; the service's answer to the way back."""
    went = client.get(f"/login/sso/{name}{start}")
    assert went.status_code == 302, went.get_data(as_text=True)
    return client.get(_path(sign_in_at_provider(went.headers["Location"], who)))


def _me(client) -> dict | None:
    answer = client.get("/api/me")
    return answer.get_json()["user"] if answer.status_code == 200 else None


def _user(app, username: str) -> User | None:
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        user = unit.session.scalar(select(User).where(User.username == username))
        if user is not None:
            unit.session.expunge(user)
        return user


def _events(app, action: str = "sso.callback") -> list[dict]:
    trail.flush(app)
    items = auditor_client(app).get("/api/audit?limit=50").get_json()["items"]
    return [e for e in items if e["action"] == action]


# -- signing in ---------------------------------------------------------------------------------
def test_the_login_page_offers_each_provider_and_keeps_where_you_were_going(app):
    page = app.test_client().get("/login?next=/reports").get_data(as_text=True)
    assert "Sign in with Northshire Council" in page and "Sign in with Oak Trust" in page
    assert 'href="/login/sso/council?next=/reports"' in page
    assert 'id="password"' in page  # passwords remain


def test_signing_in_through_the_provider_signs_the_browser_in(app, provider):
    browser = app.test_client()
    went = browser.get("/login/sso/school?next=/reports")
    assert went.status_code == 302
    asked = parse_qs(urlsplit(went.headers["Location"]).query)
    assert went.headers["Location"].startswith(provider.issuer + "/authorize?")
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
    assert asked["redirect_uri"] == [f"{BASE}/login/sso/school/callback"]
    back = browser.get(_path(sign_in_at_provider(went.headers["Location"], "pat")))
    assert back.status_code == 302 and back.headers["Location"] == "/reports"
    me = _me(browser)
    # The school trust carries no roles: pat's local record holds.
    assert me["username"] == "pat" and me["roles"] == ["practitioner"] and me["agency"] == "school"
    assert provider.token_requests == 1
    assert "Your sessions" in browser.get("/account/sessions").get_data(as_text=True)
    [event] = _events(app)
    assert event["actor"] == "pat" and event["outcome"] == "ok"
    assert event["detail"]["provider"] == "school"
    counts = scrape(app.test_client())["safeguard_sign_ins_total"]
    assert counts[(("outcome", "ok"),)] == 1


def test_roles_agency_and_manager_come_from_the_providers_claims(app, caplog):
    browser = app.test_client()
    with caplog.at_level(logging.WARNING):
        assert _sso(browser, "sam").status_code == 302
    me = _me(browser)
    # Groups mapped (CSC-MASH → csc), a role claim kept (csc_manager), "superuser" dropped.
    assert me["username"] == "sam.reid" and me["roles"] == ["csc", "csc_manager"]
    assert me["agency"] == "childrens_social_care" and me["display_name"] == "Sam Reid"
    assert "superuser" in caplog.text
    sam, cara = _user(app, "sam.reid"), _user(app, "cara")
    assert sam.manager_id == cara.id and sam.email == "sam.reid@northshire.example"
    assert sam.password_hash is None  # created just in time, with no password to guess
    [event] = _events(app)
    assert event["detail"]["roles_dropped"] == ["superuser"]


def test_roles_taken_away_at_the_provider_are_gone_here_and_old_sessions_end(app, provider):
    first = app.test_client()
    _sso(first, "sam")
    provider.people["sam"]["roles"] = []
    second = app.test_client()
    assert _sso(second, "sam").status_code == 302
    assert _me(second)["roles"] == ["csc"]
    assert _me(first) is None  # signed in as who sam was before: ended


def test_the_subject_not_the_username_says_who_signs_in(app, provider):
    _sso(app.test_client(), "sam")
    # The provider renames sam; the link by subject still finds the same person.
    provider.people["sam"]["preferred_username"] = "s.reid"
    browser = app.test_client()
    _sso(browser, "sam")
    assert _me(browser)["username"] == "sam.reid"
    # And someone else given the name "sam.reid" later is not sam.
    provider.people["ned"].update(preferred_username="sam.reid", groups=["CSC-MASH"])
    other = app.test_client()
    answer = _sso(other, "ned")
    assert answer.status_code == 403 and _me(other) is None
    assert "linked to another Northshire Council identity" in answer.get_data(as_text=True)


# -- people who may not sign in -----------------------------------------------------------------
def test_a_disabled_account_is_refused_though_the_provider_vouches_for_it(app):
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        pat = unit.session.scalar(select(User).where(User.username == "pat"))
        disable_user(unit.session, services().clock, pat)
        unit.commit()
    browser = app.test_client()
    answer = _sso(browser, "pat", "school")
    assert answer.status_code == 403
    assert "Your account here is disabled" in answer.get_data(as_text=True)
    assert _me(browser) is None
    [event] = _events(app)
    assert event["outcome"] == "disabled" and event["actor"] == "pat"


def test_a_stranger_is_refused_where_the_provider_may_not_create_accounts(app):
    browser = app.test_client()
    answer = _sso(browser, "ned", "school")
    assert answer.status_code == 403 and "no account here" in answer.get_data(as_text=True)
    assert _me(browser) is None and _user(app, "ned") is None


def test_someone_the_provider_gives_no_role_here_is_refused(app):
    answer = _sso(app.test_client(), "nobody")
    assert answer.status_code == 403 and "no role" in answer.get_data(as_text=True)
    assert _user(app, "nora") is None


# -- answers that are not the provider's, or not for this browser --------------------------------
@pytest.mark.parametrize("tamper", ["signature", "nonce", "audience", "issuer"])
def test_a_tampered_id_token_is_refused(app, provider, tamper):
    provider.tamper = {tamper}
    browser = app.test_client()
    answer = _sso(browser, "sam")
    assert answer.status_code == 400
    assert "could not be verified" in answer.get_data(as_text=True)
    assert _me(browser) is None and _user(app, "sam.reid") is None
    [event] = _events(app)
    assert event["outcome"] == "bad_token" and event["actor"] is None


def test_a_stale_id_token_is_refused(app, provider, clock):
    provider.now = lambda: (clock.now() - timedelta(hours=1)).timestamp()  # issued an hour ago
    browser = app.test_client()
    assert _sso(browser, "sam").status_code == 400
    assert _me(browser) is None


def test_a_state_that_is_not_this_browsers_is_refused(app):
    browser = app.test_client()
    went = browser.get("/login/sso/council")
    back = urlsplit(sign_in_at_provider(went.headers["Location"], "sam"))
    query = parse_qs(back.query)
    forged = urlencode({"code": query["code"][0], "state": "forged"})
    answer = browser.get(f"{back.path}?{forged}")
    assert answer.status_code == 400 and "not started here" in answer.get_data(as_text=True)
    assert _me(browser) is None
    # The victim's browser, handed the attacker's way back, has no such state either.
    victim = app.test_client()
    assert victim.get(f"{back.path}?{back.query}").status_code == 400
    assert _me(victim) is None


def test_the_way_back_works_once(app):
    browser = app.test_client()
    went = browser.get("/login/sso/council")
    back = _path(sign_in_at_provider(went.headers["Location"], "sam"))
    assert browser.get(back).status_code == 302
    assert browser.get(back).status_code == 400  # the state was used up with the cookie


def test_the_provider_saying_no_is_a_page_not_an_error(app):
    browser = app.test_client()
    went = browser.get("/login/sso/council")
    state = parse_qs(urlsplit(went.headers["Location"]).query)["state"][0]
    answer = browser.get(f"/login/sso/council/callback?error=access_denied&state={state}")
    assert answer.status_code == 400
    assert "Northshire Council did not sign you in" in answer.get_data(as_text=True)


def test_an_unknown_provider_is_404(app):
    browser = app.test_client()
    assert browser.get("/login/sso/nowhere").status_code == 404
    assert browser.get("/login/sso/nowhere/callback?code=x&state=y").status_code == 404


def test_an_unreachable_provider_is_a_page_not_a_500(db_url, clock):
    settings = _settings("http://127.0.0.1:9", "secret")  # the discard port: nobody answers
    config = {"DATABASE_URL": db_url, "TESTING": True, "BASE_URL": BASE}
    app = create_app({**config, "OIDC_PROVIDERS": from_data(settings, {})}, clock=clock)
    try:
        answer = app.test_client().get("/login/sso/council")
        assert answer.status_code == 502
        assert "Northshire Council could not be reached" in answer.get_data(as_text=True)
    finally:
        app.extensions["safeguard"].db.dispose()


def test_where_you_were_going_is_never_another_site(app):
    browser = app.test_client()
    assert _sso(browser, "sam", start="?next=//evil.example/").headers["Location"] == "/"


def test_a_link_is_kept_per_provider_and_subject(app):
    _sso(app.test_client(), "sam")
    with app.app_context(), UnitOfWork(services().session_factory) as unit:
        links = unit.session.scalars(select(ExternalIdentity)).all()
        assert [(x.provider, x.subject) for x in links] == [("council", "248289761001")]
