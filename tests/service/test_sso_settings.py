"""Identity providers are settings like any other: checked at start, a bad one is one line that
names the variable (issue 19, points 1 and 5), and a secret is never echoed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from service.cli import main
from service.config import ConfigError, load

GOOD = {
    "name": "council",
    "label": "Northshire Council",
    "issuer": "https://login.northshire.example/tenant",
    "client_id": "safeguard-flow",
    "client_secret_env": "COUNCIL_SECRET",
    "groups_claim": "groups",
    "group_roles": {"CSC-MASH": ["csc"], "Leads": "dsl"},
}


def _file(tmp_path, body: str, suffix: str = ".json") -> dict[str, str]:
    path = tmp_path / f"providers{suffix}"
    path.write_text(body)
    return {"OIDC_PROVIDERS_FILE": str(path), "COUNCIL_SECRET": "s3cret-from-the-vault"}


def test_a_json_file_gives_providers_with_the_secret_from_its_variable(tmp_path):
    [council] = load(_file(tmp_path, json.dumps({"providers": [GOOD]})))["OIDC_PROVIDERS"]
    assert council.client_secret == "s3cret-from-the-vault"
    assert "s3cret" not in repr(council)
    assert council.metadata_url == (
        "https://login.northshire.example/tenant/.well-known/openid-configuration"
    )
    assert council.group_roles == {"CSC-MASH": ("csc",), "Leads": ("dsl",)}
    assert not council.create_users  # strangers are refused unless the file says otherwise


def test_a_toml_file_says_the_same(tmp_path):
    toml = """
[[providers]]
name = "police"
label = "Northshire Police"
issuer = "https://sso.police.example"
client_id = "sgf"
client_secret_env = "COUNCIL_SECRET"
agency = "police"
"""
    [police] = load(_file(tmp_path, toml, ".toml"))["OIDC_PROVIDERS"]
    assert police.agency == "police" and police.roles_claim is None


def test_no_setting_means_passwords_only():
    assert "OIDC_PROVIDERS" not in load({})


def _with(**changes) -> str:
    entry = {**GOOD, **changes}
    return json.dumps({"providers": [{k: v for k, v in entry.items() if v is not None}]})


BAD = [
    ("{not json", "is not valid JSON (line 1"),
    ('{"providers": {}}', 'must list the providers under "providers"'),
    (_with(name="Council!"), "name must be 1 to 40 lowercase letters"),
    (_with(issuer=None), "provider 'council': issuer is required"),
    (_with(issuer="http://login.example"), "issuer must be an https:// URL"),
    (_with(client_secret_env="NOT_SET"), "client_secret_env names NOT_SET, which is not set"),
    (_with(group_roles={"Leads": ["socialworker"]}), "names 'socialworker', not a role"),
    (_with(scopes=["profile"]), 'scopes must be a list that includes "openid"'),
    (_with(create_users="yes"), "create_users must be true or false"),
    (_with(agency="school", agency_claim="org"), "set agency or agency_claim, not both"),
    (_with(group_role={}), "unknown setting 'group_role'"),
    (json.dumps({"providers": [GOOD, GOOD]}), "two providers are called 'council'"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_bad_provider_is_one_line_naming_the_file(tmp_path, body, message):
    env = _file(tmp_path, body)
    with pytest.raises(ConfigError) as raised:
        load(env)
    text = str(raised.value)
    assert text.startswith(f"OIDC_PROVIDERS_FILE={env['OIDC_PROVIDERS_FILE'][:60]!r}: ")
    assert message in text and "\n" not in text


def test_inline_settings_are_never_echoed():
    inline = _with(client_secret_env=None, client_secret="hunter2-hunter2", issuer="ftp://x")
    with pytest.raises(ConfigError) as raised:
        load({"OIDC_PROVIDERS": inline})
    assert str(raised.value).startswith("OIDC_PROVIDERS=(hidden): provider 'council': issuer")
    assert "hunter2" not in str(raised.value)


def test_the_command_line_stops_on_a_missing_file(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "OIDC_PROVIDERS_FILE": str(tmp_path / "missing.json"),
    }
    result = CliRunner().invoke(main, ["retention", "--dry-run"], env=env)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"safeguard: OIDC_PROVIDERS_FILE={env['OIDC_PROVIDERS_FILE'][:60]!r}: "
        "cannot be read (FileNotFoundError)"
    ]
    assert not (tmp_path / "x.db").exists()
