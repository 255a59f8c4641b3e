"""Identity providers for single sign-on: what the settings say, checked at start, and how a
provider's claims become a person's roles, agency and manager here (docs/identity.md).

Why a file and not one variable per setting: a provider carries a dozen settings (issuer, client,
scopes, a table of groups to roles), and a partnership may have several (a council, an NHS trust,
a police force). ``OIDC_PROVIDERS_FILE`` names a JSON or TOML file, or ``OIDC_PROVIDERS`` holds the
same JSON; a secret may stay out of both (``client_secret_env`` names the variable holding it).
Everything is checked when the service starts, so a typo in a group's role is one line naming
the setting, not a person refused at nine in the morning.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from workflows.roles import ROLES

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
FIELDS = frozenset(
    {
        "name",
        "label",
        "issuer",
        "discovery_url",
        "client_id",
        "client_secret",
        "client_secret_env",
        "scopes",
        "create_users",
        "username_claim",
        "name_claim",
        "email_claim",
        "roles_claim",
        "groups_claim",
        "group_roles",
        "agency_claim",
        "agency",
        "manager_claim",
    }
)
TEXT_LENGTH = {"username": 80, "display_name": 200, "email": 320, "agency": 80}


@dataclass(frozen=True)
class Provider:
    """One identity provider, as configured: how to reach it and how to read its claims."""

    name: str  # in URLs: /login/sso/<name>
    label: str  # on the button: "Sign in with <label>"
    issuer: str
    metadata_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    create_users: bool = False  # just-in-time: a verified stranger gets an account
    username_claim: str = "preferred_username"
    name_claim: str = "name"
    email_claim: str = "email"
    roles_claim: str | None = None
    groups_claim: str | None = None
    group_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    agency_claim: str | None = None
    agency: str | None = None  # every person of this provider works for this agency
    manager_claim: str | None = None

    @property
    def maps_roles(self) -> bool:
        return self.roles_claim is not None or self.groups_claim is not None

    @property
    def maps_agency(self) -> bool:
        return self.agency_claim is not None or self.agency is not None

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        """What verified ``claims`` say about the person, in this service's terms."""
        roles, dropped = self._roles(claims) if self.maps_roles else (None, ())
        if dropped:
            # Never granted: a provider's new group or a misspelt role is a note for the admin.
            log.warning("provider %s sent no role here for %s", self.name, sorted(dropped))
        agency = self.agency
        if self.agency_claim is not None:
            agency = _text(claims.get(self.agency_claim), TEXT_LENGTH["agency"])
        return Identity(
            subject=str(claims["sub"]),
            username=_text(claims.get(self.username_claim), TEXT_LENGTH["username"]),
            display_name=_text(claims.get(self.name_claim), TEXT_LENGTH["display_name"]),
            email=_text(claims.get(self.email_claim), TEXT_LENGTH["email"]),
            roles=roles,
            agency=agency,
            manager=_text(claims.get(self.manager_claim), TEXT_LENGTH["username"])
            if self.manager_claim
            else None,
            dropped=tuple(sorted(dropped)),
        )

    def _roles(self, claims: Mapping[str, Any]) -> tuple[tuple[str, ...], set[str]]:
        granted: set[str] = set()
        dropped: set[str] = set()
        if self.roles_claim is not None:
            for name in _names(claims.get(self.roles_claim)):
                (granted if name in ROLES else dropped).add(name)
        if self.groups_claim is not None:
            for group in _names(claims.get(self.groups_claim)):
                granted.update(self.group_roles.get(group, ()))
        return tuple(sorted(granted)), dropped


@dataclass(frozen=True)
class Identity:
    """Who a provider says signed in. ``None`` for roles, agency or manager: the provider does
    not say, and the local record holds."""

    subject: str
    username: str | None
    display_name: str | None
    email: str | None
    roles: tuple[str, ...] | None
    agency: str | None
    manager: str | None
    dropped: tuple[str, ...] = ()


def _names(value: Any) -> list[str]:
    """A claim listing names: a JSON array, or one string of names separated by spaces."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _text(value: Any, length: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:length]


# -- reading the settings -------------------------------------------------------------------------
def from_file(path: Path, env: Mapping[str, str]) -> tuple[Provider, ...]:
    """The providers a JSON or TOML file (by suffix) lists; ``ValueError`` says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot be read ({type(err).__name__})") from None
    if path.suffix == ".toml":
        try:
            return from_data(tomllib.loads(text), env)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"is not valid TOML ({err})") from None
    return from_json(text, env)


def from_json(text: str, env: Mapping[str, str]) -> tuple[Provider, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"is not valid JSON (line {err.lineno}, column {err.colno})") from None
    return from_data(data, env)


def from_data(data: Any, env: Mapping[str, str]) -> tuple[Provider, ...]:
    """``{"providers": [{...}, ...]}`` checked field by field."""
    if not isinstance(data, dict) or not isinstance(data.get("providers"), list):
        raise ValueError('must list the providers under "providers"')
    providers = tuple(_provider(i, entry, env) for i, entry in enumerate(data["providers"], 1))
    names = [p.name for p in providers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"two providers are called {name!r}")
    return providers


def _provider(index: int, entry: Any, env: Mapping[str, str]) -> Provider:
    if not isinstance(entry, dict):
        raise ValueError(f"provider {index} must be a table of settings")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(
            f"provider {index}: name must be 1 to 40 lowercase letters, digits and dashes"
        )
    where = f"provider {name!r}"
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise ValueError(f"{where}: unknown setting {unknown[0]!r}")
    text = _reader(entry, where)
    issuer = _url(text("issuer", required=True), where, "issuer")
    discovery = text("discovery_url") or issuer.rstrip("/") + "/.well-known/openid-configuration"
    scopes = entry.get("scopes", list(Provider.scopes))
    if not isinstance(scopes, list) or "openid" not in scopes:
        raise ValueError(f'{where}: scopes must be a list that includes "openid"')
    if entry.get("agency") is not None and entry.get("agency_claim") is not None:
        raise ValueError(f"{where}: set agency or agency_claim, not both")
    if entry.get("group_roles") is not None and entry.get("groups_claim") is None:
        raise ValueError(f"{where}: group_roles needs groups_claim")
    create_users = entry.get("create_users", False)
    if not isinstance(create_users, bool):
        raise ValueError(f"{where}: create_users must be true or false")
    return Provider(
        name=name,
        label=text("label", required=True),
        issuer=issuer,
        metadata_url=_url(discovery, where, "discovery_url"),
        client_id=text("client_id", required=True),
        client_secret=_secret(entry, env, where),
        scopes=tuple(str(s) for s in scopes),
        create_users=create_users,
        username_claim=text("username_claim") or Provider.username_claim,
        name_claim=text("name_claim") or Provider.name_claim,
        email_claim=text("email_claim") or Provider.email_claim,
        roles_claim=text("roles_claim"),
        groups_claim=text("groups_claim"),
        group_roles=_group_roles(entry.get("group_roles") or {}, where),
        agency_claim=text("agency_claim"),
        agency=text("agency"),
        manager_claim=text("manager_claim"),
    )


def _reader(entry: dict, where: str):
    def text(key: str, required: bool = False) -> str | None:
        value = entry.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {key} {'is required' if value is None else 'must be text'}")
        return value.strip()

    return text


def _url(value: str, where: str, key: str) -> str:
    """https, or http to this machine only (a test provider): a token fetched in clear text
    from elsewhere could be read or changed on the way."""
    parts = urlsplit(value)
    loopback = parts.scheme == "http" and parts.hostname in LOOPBACK
    if not parts.hostname or not (parts.scheme == "https" or loopback):
        raise ValueError(f"{where}: {key} must be an https:// URL (http:// only on loopback)")
    return value


def _secret(entry: dict, env: Mapping[str, str], where: str) -> str:
    variable = entry.get("client_secret_env")
    if variable is not None:
        if entry.get("client_secret") is not None:
            raise ValueError(f"{where}: set client_secret or client_secret_env, not both")
        value = env.get(str(variable), "").strip()
        if not value:
            raise ValueError(f"{where}: client_secret_env names {variable}, which is not set")
        return value
    value = entry.get("client_secret")
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: client_secret or client_secret_env is required")
    return value


def _group_roles(table: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, dict):
        raise ValueError(f"{where}: group_roles must map group names to lists of roles")
    mapped = {}
    for group, roles in table.items():
        roles = [roles] if isinstance(roles, str) else roles
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ValueError(f"{where}: group_roles[{group!r}] must be a list of roles")
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"{where}: group_roles[{group!r}] names {unknown[0]!r}, not a role")
        mapped[str(group)] = tuple(roles)
    return mapped
