"""Hostile request bodies against every route that takes one (tests/service for the happy paths).

The caller holds every casework and administrative role, and the paths name a real deployed
diagram, a running instance, its open task and a recorded consent, so the body is what the
service has to deal with. Each answer is a 4xx with the JSON error shape; where the body is
what is wrong, 422 names the field, 400 says the JSON itself is wrong, 413 that it is too big.
"""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.app import create_app
from tests.conftest import _truncate_pg
from tests.fuzz.bpmn_strategies import BPMN_DIR, PROLOG, body_of
from tests.support.helpers import XML, assert_error, deploy_xml, make_user, token_client

EVERY_ROLE = ["admin", "practitioner", "manager", "dsl", "process_owner", "csc", "csc_manager"]
MB = 1024 * 1024
LONG = 100_000  # characters: beyond every maximum length the API declares


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory):
    """One database per module and kind: the requests here change little."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database")
        _truncate_pg(url)
        return url
    path = tmp_path_factory.mktemp("fuzz-api") / "safeguard.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture(scope="module")
def root(app):
    make_user(app, "root", EVERY_ROLE, agency="partnership")
    return token_client(app, "root")


@pytest.fixture(scope="module")
def known(app, root) -> dict[str, str]:
    """Real ids for the path parameters."""
    assert deploy_xml(root, filename="three_steps.bpmn").status_code == 201
    started = root.post(
        "/api/process-instances", json={"process_key": "three_steps", "business_key": "c-1"}
    )
    assert started.status_code == 201, started.get_json()
    instance = started.get_json()
    consent = root.post(
        "/api/consents",
        json={
            "child": "c-1",
            "person": "child",
            "agencies": ["school"],
            "purposes": ["safeguarding"],
            "how": "verbal",
        },
    )
    assert consent.status_code == 201, consent.get_json()
    return {
        "instance_id": instance["id"],
        "task_id": instance["active_tasks"][0]["id"],
        "key": "three_steps",
        "process_key": "three_steps",
        "business_key": "c-1",
        "consent_id": consent.get_json()["id"],
        "escalation_id": "00000000-0000-0000-0000-000000000000",
        "record_id": "1",
        "notification_id": "00000000-0000-0000-0000-000000000000",
        "session_id": "00000000-0000-0000-0000-000000000000",
        "version": "1",
        "period_id": "00000000-0000-0000-0000-000000000000",
        "provider": "nowhere",
        "code": "nowhere",
        "token": "not-a-token",
        "username": "nobody",
    }


@pytest.fixture(scope="module")
def operations(app, root) -> list[tuple[str, str, dict]]:
    """(method, path template, JSON body schema) of every operation with a JSON body."""
    doc = root.get("/api/openapi.json").get_json()
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                schema = body["schema"]
                if "$ref" in schema:
                    schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
                found.append((method.upper(), path, schema))
    assert len(found) >= 12
    return found


def _url(template: str, known: dict[str, str]) -> str:
    return template.format(**known)


def _send(client, method: str, url: str, raw: str | bytes):
    return client.open(url, method=method, data=raw, content_type="application/json")


def _string_fields(schema: dict) -> dict[str, int | None]:
    """Each property that is (or may be) a string, with its declared maximum length."""
    fields = {}
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        for option in options:
            if option.get("type") == "string" and "enum" not in option:
                fields[name] = option.get("maxLength")
    return fields


def test_every_string_in_a_json_body_has_a_maximum_length(operations):
    unbounded = [
        f"{method} {path} {name}"
        for method, path, schema in operations
        for name, limit in _string_fields(schema).items()
        if limit is None
    ]
    assert not unbounded


def test_a_very_long_string_in_any_field_is_422_naming_it(root, known, operations):
    for method, path, schema in operations:
        for name in _string_fields(schema):
            response = _send(root, method, _url(path, known), json.dumps({name: "x" * LONG}))
            error = assert_error(response, 422)
            assert name in {d.get("field") for d in error["details"]}, (method, path, name)


@pytest.mark.parametrize(
    ("raw_value", "status"),
    [
        pytest.param("[" * 40 + "]" * 40, 422, id="nested-40"),
        pytest.param('{"a":' * 30 + "1" + "}" * 30, 422, id="objects-nested-30"),
        pytest.param("1e400", 422, id="infinite"),
        pytest.param("NaN", 422, id="nan"),
        pytest.param("-Infinity", 422, id="minus-infinity"),
        pytest.param(str(2**70), 422, id="beyond-64-bits"),
        pytest.param("9" * 5_000, 400, id="more-digits-than-python-reads"),
        pytest.param('"nul \\u0000"', 422, id="nul"),
        pytest.param('"lone \\ud800"', 400, id="lone-surrogate"),
        pytest.param('["ok", "\\udfff"]', 400, id="lone-low-surrogate-in-a-list"),
        pytest.param('{"\\ud800": 1}', 400, id="lone-surrogate-as-a-key"),
    ],
)
def test_a_hostile_value_in_any_field_is_refused(root, known, operations, raw_value, status):
    for method, path, schema in operations:
        for name in schema.get("properties", {}):
            raw = '{"' + name + '":' + raw_value + "}"
            response = _send(root, method, _url(path, known), raw)
            error = assert_error(response, status)
            if status == 422:
                assert name in {d.get("field") for d in error["details"]}, (method, path, name)


@pytest.mark.parametrize("raw", ["[" * 100_000, '{"a":' * 100_000, "[" * 50_000 + "]" * 50_000])
def test_json_nested_beyond_reason_is_400(root, known, operations, raw):
    for method, path, _schema in operations:
        assert_error(_send(root, method, _url(path, known), raw), 400, "malformed_json")


def test_values_nested_deeply_never_reach_an_instance(app, root, known):
    """Before the limit, 600 levels of variables made an instance that could not be restored."""
    nul = '{"process_key": "three_steps", "variables": {"x": {"y": "a\\u0000b"}}}'
    assert _send(root, "POST", "/api/process-instances", nul).status_code in (201, 422)
    deep = "[" * 600 + "]" * 600
    raw = '{"process_key": "three_steps", "variables": {"x": ' + deep + "}}"
    error = assert_error(_send(root, "POST", "/api/process-instances", raw), 422)
    assert error["details"] == [
        {"field": "variables", "message": "must not be nested more than 16 levels deep"}
    ]
    data = '{"data": {"concern": ' + deep + "}}"
    url = f"/api/tasks/{known['task_id']}/complete"
    assert_error(_send(root, "POST", url, data), 422)


HOSTILE_PARAMETERS = ["9" * 5_000, "x" * 100_000, "-1", "1e400", "NaN", "\u202e\ufeff", "%00", "'"]
FORGED_HOST = "evil.example"


@pytest.fixture(scope="module")
def every_operation(root) -> list[tuple[str, str, dict]]:
    doc = root.get("/api/openapi.json").get_json()
    return [
        (method.upper(), path, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method.upper() not in ("DELETE",) and path not in ("/logout",)
    ]


def test_hostile_query_headers_and_path_segments_are_never_a_server_error(
    db_url, root, known, every_operation
):
    """Before the check on digits, limit=999…9 (5000 digits) was a 500 on seven routes.
    (PostgreSQL writes each request's audit event slowly: the two longest values there.)"""
    values = HOSTILE_PARAMETERS if db_url.startswith("sqlite") else HOSTILE_PARAMETERS[:2]
    for method, path, operation in every_operation:
        for parameter in operation.get("parameters", []):
            for value in values:
                where, name = parameter["in"], parameter["name"]
                url, kwargs = _url(path, known), {}
                if where == "query":
                    kwargs["query_string"] = {name: value}
                elif where == "header":
                    kwargs["headers"] = {name: value}
                else:
                    url = _url(path, {**known, name: value})
                response = root.open(url, method=method, **kwargs)
                assert response.status_code < 500, (method, path, name, value[:12])
                if response.status_code >= 400 and path.startswith("/api"):
                    assert_error(response, response.status_code)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(text=st.text(st.characters(blacklist_categories=()), max_size=20), forged=st.booleans())
def test_any_text_with_or_without_surrogates_and_a_forged_host_is_never_a_server_error(
    root, known, text, forged
):
    """Hypothesis's characters include lone surrogates (category Cs): JSON carries them as
    escapes. A lone one is 400 wherever it is; other text is whatever the route makes of it."""
    headers = {"Host": FORGED_HOST} if forged else {}
    bodies = [
        ("POST", "/api/process-instances", {"process_key": "three_steps", "business_key": text}),
        ("POST", f"/api/tasks/{known['task_id']}/complete", {"data": {"concern": text}}),
        ("POST", "/api/auth/token", {"username": text, "password": text}),
        ("POST", f"/api/process-instances/{known['instance_id']}/messages", {"name": text}),
    ]
    lone = any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    for method, url, body in bodies:
        response = root.open(
            url,
            method=method,
            data=json.dumps(body),
            headers=headers,
            content_type="application/json",
        )
        assert response.status_code < 500, (url, text)
        assert not lone or response.status_code == 400, (url, text)
        assert FORGED_HOST not in response.headers.get("Location", "")
    query = root.get("/api/process-instances?business_key=%ED%A0%80")
    assert query.status_code < 500


def test_every_post_route_answers_a_10_mb_body_with_413(app, root, known):
    routes = sorted(
        {
            rule.rule
            for rule in app.url_map.iter_rules()
            if "POST" in (rule.methods or ()) and rule.rule.startswith("/api")
        }
    )
    assert len(routes) >= 15
    body = b"x" * (10 * MB)
    for rule in routes:
        url = rule.replace("<", "{").replace(">", "}")
        url = url.replace("{int:", "{").format(**known)
        for content_type in ("application/json", "application/xml", "multipart/form-data"):
            response = root.post(url, data=body, content_type=content_type)
            error = assert_error(response, 413, "request_entity_too_large")
            assert error["message"] == "The request body is larger than 8 MB.", rule


def test_a_10_mb_body_is_413_before_signing_in(app):
    response = app.test_client().post(
        "/api/process-definitions", data=b"<x/>" * (3 * MB), content_type="application/xml"
    )
    assert_error(response, 413, "request_entity_too_large")


def test_a_diagram_between_the_file_and_the_body_limits_is_a_placed_problem(root):
    padding = b"<!-- " + b"x" * (6 * MB) + b" -->\n"
    response = root.post("/api/process-definitions/validate", data=THREE + padding, headers=XML)
    assert response.status_code == 200
    assert response.get_json()["problems"] == [
        {
            "file": "upload.bpmn",
            "element_id": None,
            "line": 1,
            "message": "the file is larger than 5 MB",
            "severity": "error",
        }
    ]


THREE = (BPMN_DIR.parent / "tests" / "fixtures" / "three_steps.bpmn").read_bytes()
LAUGHS = (
    '<!DOCTYPE d [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(PROLOG + LAUGHS.encode() + body_of("referral.bpmn"), id="billion-laughs"),
        pytest.param(
            PROLOG
            + b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + body_of("referral.bpmn").replace(b'name="Make the referral"', b'name="&e;"'),
            id="external-entity",
        ),
    ],
)
@pytest.mark.parametrize("route", ["/api/process-definitions", "/api/process-definitions/validate"])
def test_xml_bombs_through_the_api_are_refused_unexpanded(root, content, route):
    response = root.post(route, data=content, headers=XML)
    text = response.get_data(as_text=True)
    problem = {
        "element_id": None,
        "line": 1,
        "message": "a DOCTYPE declaration is not allowed in BPMN files",
        "severity": "error",
    }
    if route.endswith("validate"):
        problems = response.get_json()["problems"]
        assert response.status_code == 200 and problems == [{"file": "upload.bpmn", **problem}]
    else:
        error = assert_error(response, 422, "invalid_bpmn")
        assert [{k: d[k] for k in problem} for d in error["details"]] == [problem]
    assert "lollol" not in text and "root:" not in text
