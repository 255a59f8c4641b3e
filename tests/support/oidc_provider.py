"""A real OpenID Connect provider on loopback, for the single sign-on tests.

Authlib's authorization server (authorization code, PKCE required, OpenID Connect's ID token),
a discovery document and a JWKS, served by werkzeug on a free port in a thread: the service
talks to it over HTTP exactly as to a council's or a trust's provider. Its sign-in page asks only
for a username (the people are the test's); it remembers the codes it issued in memory.

On demand it misbehaves the ways an attacker or a broken provider would (``tamper``): an ID
token signed with a key not in its JWKS, or naming another nonce, audience or issuer. Its clock
(``now``, epoch seconds) is the test's, so an ID token can be made stale without sleeping.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

KID = "loopback-1"
TAMPERING = frozenset({"signature", "nonce", "audience", "issuer"})


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        allowed = {"openid", "profile", "email", "groups"}
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    username: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class Provider:
    """The provider's state: its people (username → claims), its client, its keys, its clock."""

    people: dict[str, dict[str, Any]]
    client: Client
    now: Callable[[], float] = time.time
    tamper: set[str] = field(default_factory=set)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": KID}))
    rogue: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": KID}))
    codes: dict[str, Code] = field(default_factory=dict)
    issuer: str = ""
    token_requests: int = 0


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def save_authorization_code(self, code: str, req) -> None:
        state: Provider = self.server.provider
        payload = req.payload.data
        state.codes[code] = Code(
            code=code,
            client_id=req.client.client_id,
            redirect_uri=req.payload.redirect_uri,
            scope=req.scope,
            username=req.user,
            nonce=payload.get("nonce"),
            code_challenge=payload.get("code_challenge"),
            code_challenge_method=payload.get("code_challenge_method"),
            auth_time=int(state.now()),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = self.server.provider.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> str:
        return authorization_code.username


class _OpenID(OpenIDCode):
    def __init__(self, state: Provider) -> None:
        super().__init__(require_nonce=True)
        self.state = state

    def exists_nonce(self, nonce: str, req) -> bool:
        return any(code.nonce == nonce for code in self.state.codes.values())

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.state.rogue if "signature" in self.state.tamper else self.state.key

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(self.state.now())
        tampered = self.state.tamper
        return {
            "iss": "http://evil.example" if "issuer" in tampered else self.state.issuer,
            "aud": ["someone-else"] if "audience" in tampered else [client.client_id],
            "iat": now,
            "exp": now + 300,
        }

    def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
        claims = super().get_authorization_code_claims(authorization_code)
        if "nonce" in self.state.tamper:
            claims["nonce"] = "not-the-nonce-that-was-sent"
        return claims

    def generate_user_info(self, user: str, scope: str) -> dict[str, Any]:
        return dict(self.state.people[user])


def _app(state: Provider) -> Flask:
    app = Flask("loopback_provider")
    server = AuthorizationServer(
        app, query_client=lambda cid: state.client if cid == state.client.client_id else None
    )
    server.save_token = lambda token, req: None  # the tests never call back with the token
    server.provider = state
    server.register_grant(_CodeGrant, [CodeChallenge(required=True), _OpenID(state)])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        base = state.issuer
        return jsonify(
            issuer=base,
            authorization_endpoint=f"{base}/authorize",
            token_endpoint=f"{base}/token",
            jwks_uri=f"{base}/jwks",
            response_types_supported=["code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["client_secret_basic"],
        )

    @app.get("/jwks")
    def jwks():
        return jsonify(keys=[state.key.as_dict(private=False)])

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        if request.method == "GET":
            server.get_consent_grant(end_user=None)  # refuses a bad client or redirect URI
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in request.args.items()
            )
            return (
                "<!doctype html><title>Loopback provider</title><h1>Loopback provider</h1>"
                f'<form method="post" action="/authorize">{hidden}'
                '<label for="who">Who are you?</label><input id="who" name="who">'
                '<button type="submit">Continue</button></form>'
            )
        who = request.form.get("who", "")
        person = who if who in state.people else None
        grant = server.get_consent_grant(end_user=person)
        return server.create_authorization_response(grant_user=person, grant=grant)

    @app.post("/token")
    def token():
        state.token_requests += 1
        return server.create_token_response()

    return app


@contextmanager
def running_provider(
    people: dict[str, dict[str, Any]], redirect_uris: list[str], **options: Any
) -> Iterator[Provider]:
    """The provider serving on ``http://127.0.0.1:<free port>`` until the block ends."""
    client = Client("safeguard-flow", secrets.token_urlsafe(24), redirect_uris)
    state = Provider(people=people, client=client, **options)
    httpd = make_server("127.0.0.1", 0, _app(state), threaded=True)
    state.issuer = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


def sign_in_at_provider(authorize_url: str, who: str) -> str:
    """What a person does at the provider's page: its form, their name; where it sends the
    browser back (the service's callback URL with the code and state)."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    fields = dict(_hidden_fields(page.text))
    answer = requests.post(
        authorize_url.split("?")[0], data={**fields, "who": who}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def _hidden_fields(text: str) -> Iterator[tuple[str, str]]:
    for name, value in re.findall(r'type="hidden" name="([^"]*)" value="([^"]*)"', text):
        yield html.unescape(name), html.unescape(value)
