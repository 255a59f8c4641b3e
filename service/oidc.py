"""Single sign-on with OpenID Connect: Authlib's Flask client, one per configured provider.

What Authlib does for us: the discovery document and the JWKS, fetched over HTTP from the
provider; the authorization code flow with PKCE (S256), and a ``state`` and a ``nonce`` kept in
the browser's signed session until the provider sends the browser back. What this module adds:
the ID token is checked against the service's clock (injected, so a test moves time instead of
sleeping through it), its ``aud`` must be our client id and its ``iss`` the configured issuer
(Authlib checks neither unless told), and every way this can fail is one :class:`SsoRefused`
with a sentence for the login page, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oidc.core import CodeIDToken
from flask import Flask, Response, current_app
from joserfc.errors import JoseError

from service.identity_providers import Provider

log = logging.getLogger(__name__)

EXTENSION = "safeguard.oidc"
TIMEOUT_SECONDS = 10  # the provider's token endpoint and JWKS; a hung provider is an answer
LEEWAY_SECONDS = 120  # the provider's clock and ours may differ by this much


class SsoRefused(Exception):
    """A sign-in through a provider that did not prove who the person is."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome  # a metrics label and the audit event's outcome
        self.message = message


def init_app(app: Flask) -> None:
    """One Authlib client for each provider of ``OIDC_PROVIDERS``."""
    oauth = OAuth(app)
    for provider in app.config.get("OIDC_PROVIDERS") or ():
        oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.metadata_url,
            client_kwargs={
                "scope": " ".join(provider.scopes),
                "code_challenge_method": "S256",
                "default_timeout": TIMEOUT_SECONDS,
            },
        )
    app.extensions[EXTENSION] = oauth


def providers() -> tuple[Provider, ...]:
    """The current app's providers, in the order configured (the login page's buttons)."""
    return tuple(current_app.config.get("OIDC_PROVIDERS") or ())


def provider(name: str) -> Provider | None:
    return next((p for p in providers() if p.name == name), None)


def callback_url(config: Mapping[str, Any], name: str) -> str:
    """Where the provider sends the browser back: from ``BASE_URL``, never from the request's
    Host header (the provider only accepts the URL registered with it anyway)."""
    return f"{str(config['BASE_URL']).rstrip('/')}/login/sso/{name}/callback"


def redirect_to(found: Provider) -> Response:
    """The browser sent to the provider's sign-in page, with a fresh state, nonce and PKCE
    verifier remembered in the session."""
    client = current_app.extensions[EXTENSION].create_client(found.name)
    try:
        return client.authorize_redirect(callback_url(current_app.config, found.name))
    except (requests.RequestException, OAuthError, RuntimeError, ValueError) as err:
        log.warning("provider %s could not be reached: %s", found.name, type(err).__name__)
        raise SsoRefused("provider_unreachable", _unreachable(found)) from None


def verified_claims(found: Provider, now: datetime) -> dict[str, Any]:
    """The claims of the ID token the provider sends for this browser's code, once its state,
    signature (JWKS), issuer, audience, expiry (at ``now``) and nonce are checked."""
    client = current_app.extensions[EXTENSION].create_client(found.name)
    options = {
        "iss": {"essential": True, "value": found.issuer},
        "aud": {"essential": True, "value": found.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    try:
        token = client.authorize_access_token(
            claims_options=options, claims_cls=_at(now), leeway=LEEWAY_SECONDS
        )
    except OAuthError as err:
        # The provider said no (the person cancelled), or the state is not this browser's.
        log.info("provider %s: %s", found.name, err.error)
        if err.error == "mismatching_state":
            raise SsoRefused("bad_state", STALE) from None
        raise SsoRefused("provider_refused", f"{found.label} did not sign you in.") from None
    except JoseError as err:
        log.warning("provider %s sent an ID token we refuse: %s", found.name, err.error)
        raise SsoRefused("bad_token", BAD_TOKEN) from None
    except (requests.RequestException, ValueError, KeyError) as err:
        log.warning("provider %s could not be reached: %s", found.name, type(err).__name__)
        raise SsoRefused("provider_unreachable", _unreachable(found)) from None
    claims = token.get("userinfo")
    if not claims or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SsoRefused("bad_token", BAD_TOKEN)
    return dict(claims)


STALE = "That sign-in was not started here, or has expired. Start again."
BAD_TOKEN = "The identity provider's answer could not be verified. Start again."


def _unreachable(found: Provider) -> str:
    return f"{found.label} could not be reached. Try again, or sign in with a password."


def _at(now: datetime) -> type[CodeIDToken]:
    """Authlib's ID token checks, with the expiry judged at the service's ``now``."""
    moment = int(now.timestamp())

    class IdTokenAt(CodeIDToken):
        def validate(self, now: int | None = None, leeway: int = 0) -> None:
            super().validate(now=moment, leeway=leeway)

    return IdTokenAt
