"""The OpenAPI document: it covers every route, it is valid OpenAPI 3.1, and the live app keeps it.

The last test is schemathesis against the WSGI app, operation by operation, signed in as each
role and as no one, with a deployed ``three_steps`` and a running instance whose ids it uses for
half of the generated paths (random ids alone would only ever meet 404). It fails on any 5xx
and on any response that breaks the schema its status is documented with.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from service import auth
from service.openapi import METHODS
from tests.support.helpers import (
    THREE_STEPS_V2,
    deploy_xml,
    make_user,
    start_instance,
    token_client,
)

PAGES = {"/", "/login", "/logout"}  # server-rendered pages, documented as text/html


def _openapi_path(rule: str) -> str:
    import re

    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule)


def test_every_route_is_in_the_document_with_its_methods(app, anonymous):
    response = anonymous.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = _openapi_path(rule.rule)
        assert path in doc["paths"], f"{rule.rule} is not in the OpenAPI document"
        documented = {m.upper() for m in doc["paths"][path]}
        expected = {m for m in rule.methods if m.lower() in METHODS}
        assert expected <= documented, f"{rule.rule}: {expected - documented} not documented"
        for method in expected:
            operation = doc["paths"][path][method.lower()]
            assert not operation.get("x-undocumented"), f"{method} {rule.rule} has no @spec"
            ok = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
            if not rule.rule.startswith("/api"):  # a page's form post answers with a redirect
                ok |= {s: r for s, r in operation["responses"].items() if s.startswith("3")}
            assert ok, f"{method} {rule.rule} documents no 2xx (pages: or 3xx) response"
            if rule.rule.startswith("/api") and rule.rule not in PAGES:
                for status, answer in ok.items():
                    if status != "204":
                        assert answer.get("content"), f"{method} {rule.rule} {status}: no schema"


def test_error_statuses_carry_the_error_shape(app, anonymous):
    doc = anonymous.get("/api/openapi.json").get_json()
    cancel = doc["paths"]["/api/process-instances/{instance_id}/cancel"]["post"]
    for status in ("400", "401", "403", "404", "409", "413", "415", "422"):
        schema = cancel["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorOut"}
    assert {"bearer": []} in cancel["security"]
    assert "manager" in cancel["x-access"]["roles"] and cancel["x-access"]["case_scoped"]
    token = doc["paths"]["/api/auth/token"]["post"]
    assert "429" in token["responses"] and token["security"] == []
    deploy = doc["paths"]["/api/process-definitions"]["post"]["requestBody"]["content"]
    assert {"application/xml", "multipart/form-data"} <= set(deploy)
    xml = doc["paths"]["/api/process-definitions/{key}/xml"]["get"]["responses"]["200"]
    assert set(xml["content"]) == {"application/xml"}
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]
    assert set(metrics["content"]) == {"text/plain"}
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "cookie"}


def test_the_document_is_valid_openapi_3_1(anonymous):
    validate(anonymous.get("/api/openapi.json").get_json())


def test_the_docs_page_lists_every_operation_without_scripts(anonymous):
    doc = anonymous.get("/api/openapi.json").get_json()
    response = anonymous.get("/api/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for path, item in doc["paths"].items():
        for method in item:
            assert f"{method.upper()} {path}" in page
    assert 'id="schema-InstanceFull"' in page and "Roles: manager" in page


# -- the live app against its own document ------------------------------------------------------
ROLES = {
    "admin": ["admin"],
    "process_owner": ["process_owner"],
    "practitioner": ["practitioner"],
    "manager": ["manager"],
    "board": ["board"],
    "auditor": ["auditor"],
    "dsl": ["dsl"],
    "csc": ["csc"],
    "csc_manager": ["csc_manager"],
}
# Valid input (positive), and input that breaks the schema (negative: only ever a 4xx).
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 8}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
LAST = [("POST", "/logout"), ("DELETE", "/api/auth/token")]  # they end the caller's sign-in
XML_BODY = THREE_STEPS_V2.decode()  # a real second version, for deploy, validate and migrate


def _case_data(app, client) -> dict[str, str]:
    """three_steps deployed, and an instance started by pat (whose manager is maya)."""
    assert deploy_xml(client, filename="three_steps.bpmn").status_code == 201
    make_user(app, "maya", ["manager"], agency="school")
    make_user(app, "pat", ["practitioner"], agency="school", manager="maya")
    started = start_instance(token_client(app, "pat"), business_key="child-1")
    assert started.status_code == 201, started.get_json()
    return {"instance_id": started.get_json()["id"], "key": "three_steps"}


def _who(app, role: str) -> str:
    name = {"practitioner": "pat", "manager": "maya", "admin": "ada"}.get(role)
    if name is None:
        name = f"{role}-user"
        make_user(app, name, ROLES[role], agency="partnership")
    return token_client(app, name).environ_base["HTTP_AUTHORIZATION"]


def _has_input(operation) -> bool:
    """A JSON API operation with a body or parameters, something negative mode can break."""
    return operation.path.startswith("/api/") and bool(
        operation.body or operation.query or operation.path_parameters or operation.headers
    )


def _use_real_data(case, known: dict[str, str]) -> dict:
    """Half of the cases name the deployed diagram and the running instance, or send a real
    diagram (as is: schemathesis would wrap a string in an XML element of its own)."""
    for name in case.path_parameters or {}:
        if name in known:
            case.path_parameters[name] = known[name]
    if isinstance(case.body, dict) and "process_key" in case.body:
        case.body["process_key"] = known["key"]
    if case.media_type in ("application/xml", "text/xml", "application/bpmn+xml"):
        return {"data": XML_BODY}
    return {}


FORGED_HOST = "evil.example"


def _plant_lone_surrogate(case) -> bool:
    """Put a lone surrogate in the first string of a JSON body (issue 14: always a 400)."""
    if case.media_type != "application/json" or not isinstance(case.body, dict):
        return False
    for name, value in case.body.items():
        if isinstance(value, str):
            case.body[name] = value + "\ud800"
            return True
    case.body["x"] = "\ud800"
    return True


@pytest.fixture
def cheap_passwords(monkeypatch):
    """Sign-in attempts are fuzzed too: argon2 at its test-unfriendly cost would take most of
    the run. The throttle and the checks stay the same; only the hashing is cheaper."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", hasher)
    monkeypatch.setattr(auth, "_DUMMY_HASH", hasher.hash("not a password"))


# Every role and no one signed in on SQLite; PostgreSQL (which refuses NUL and checks lengths)
# as admin, who reaches every route and sees every case: all roles there would double the run.
RUNS = [("sqlite", role) for role in [*ROLES, "anonymous"]] + [("postgresql", "admin")]


@pytest.mark.parametrize(("db_url", "role"), RUNS, indirect=["db_url"])
def test_schemathesis_finds_no_server_error_and_no_broken_answer(
    app, client, role, cheap_passwords
):
    known = _case_data(app, client)
    headers = {} if role == "anonymous" else {"Authorization": _who(app, role)}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    last = {where: index + 1 for index, where in enumerate(LAST)}
    operations.sort(key=lambda op: last.get((op.method.upper(), op.path), 0))
    failures: list[str] = []
    for operation, mode in itertools.product(operations, MODES):
        if mode is GenerationMode.NEGATIVE and not _has_input(operation):
            continue

        @given(
            case=operation.as_strategy(generation_mode=mode),
            real_ids=st.booleans(),
            lone=st.booleans(),
            forged=st.booleans(),
        )
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case, real_ids, lone, forged):
            raw = _use_real_data(case, known) if real_ids else {}
            sent = {**headers, "Host": FORGED_HOST} if forged else headers
            planted = lone and _plant_lone_surrogate(case)
            response = case.call(headers=sent, **raw)
            case.validate_response(response, checks=CHECKS, headers=sent)
            assert not planted or response.status_code == 400, "a lone surrogate got through"
            assert FORGED_HOST not in response.headers.get("Location", ""), "forged Host echoed"

        try:
            run()
        except Unsatisfiable:
            pass  # nothing in this operation's input can be made invalid
        except Exception as err:  # noqa: BLE001 -- every failing operation is reported, not only the first
            failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {err}")
    assert not failures, f"as {role}:\n" + "\n\n".join(failures)
