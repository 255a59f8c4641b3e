"""At a real browser: signing in with an identity provider (issue 19, point 1, the proof).

Chromium opens the login page of a real ``safeguard serve``, follows "Sign in with Northshire
Council" to the loopback provider (another process's port: a real OpenID Connect server), says
who it is there, and comes back signed in with the roles the provider's groups map to. (The
refusals - a disabled account, a tampered token - are tests/service/test_sso.py's.)
"""

from __future__ import annotations

import json

import pytest

from tests.browser.served import browser_page, served
from tests.support.oidc_provider import running_provider

PEOPLE = {
    "sam": {
        "sub": "248289761001",
        "preferred_username": "sam.reid",
        "name": "Sam Reid",
        "groups": ["CSC-MASH"],
        "org": "childrens_social_care",
    },
    "pat": {"sub": "pat-at-school", "preferred_username": "pat", "name": "Pat Jones"},
}


@pytest.fixture
def provider():
    with running_provider(PEOPLE, []) as running:
        yield running


@pytest.fixture
def service(tmp_path, provider):
    providers = tmp_path / "providers.json"
    entry = {
        "name": "council",
        "label": "Northshire Council",
        "issuer": provider.issuer,
        "client_id": provider.client.client_id,
        "client_secret_env": "COUNCIL_OIDC_SECRET",
        "create_users": True,
        "groups_claim": "groups",
        "group_roles": {"CSC-MASH": ["csc"]},
        "agency_claim": "org",
    }
    providers.write_text(json.dumps({"providers": [entry]}))

    def settings(port: int) -> dict[str, str]:
        base = f"http://127.0.0.1:{port}"
        provider.client.redirect_uris.append(f"{base}/login/sso/council/callback")
        return {
            "BASE_URL": base,
            "OIDC_PROVIDERS_FILE": str(providers),
            "COUNCIL_OIDC_SECRET": provider.client.client_secret,
        }

    with served(tmp_path, {"pat": (["practitioner"], "school")}, settings) as running:
        yield running


def _through_the_provider(page, base: str, who: str) -> None:
    page.goto(base + "/login")
    page.click("text=Sign in with Northshire Council")
    page.wait_for_selector("#who")  # the provider's own page, on its own port
    page.fill("#who", who)
    page.click("text=Continue")


@pytest.mark.slow
def test_signing_in_with_the_council_account_in_chromium(service, provider, tmp_path):
    base = f"http://127.0.0.1:{service.port}"
    with browser_page(service, tmp_path) as page:
        _through_the_provider(page, base, "sam")
        page.wait_for_url(base + "/")
        assert "Signed in as Sam Reid (csc)" in page.locator(".who").inner_text()
        assert provider.token_requests == 1
        page.click("text=Your sessions")
        page.wait_for_url(base + "/account/sessions")
        assert page.locator("tr.session.current").count() == 1
