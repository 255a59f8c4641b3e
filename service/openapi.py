"""The OpenAPI 3.1 document, generated from the code: ``@spec(...)`` on each view, and a walk.

Every view declares what it takes and what it answers next to its ``@access`` rule::

    @bp.post("/<instance_id>/cancel")
    @access("manager", "admin", case_scoped=True)
    @spec("Cancel an instance", body=CancelIn, headers=IfMatch, responses={200: InstanceFull},
          errors=(409,))
    def cancel(instance_id): ...

``body``, ``query`` and ``headers`` are pydantic models (a JSON body; one parameter per field),
or for a body that is not JSON a ``{media_type: json_schema}`` mapping. ``responses`` maps a
status to a model, to such a mapping, or to ``None`` (no body). The error statuses that follow
from the rest are added on their own, each with the one error shape of ``service.errors``:
400 (a NUL in the URL, bad JSON, CSRF), 401 unless public, 403 unless open to anyone signed in
(roles named, or casework: the records roles alone are refused), 404 for a
URL that names something, 413/415/422 for a body; ``errors`` adds the others a view can answer
(409, 429…). ``build_document`` walks ``app.url_map``: Flask converters become path
parameters, the access rule becomes ``security`` and a sentence about roles and need-to-know.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from pydantic import BaseModel

from service.access import Rule
from service.errors import is_page_path

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Bad request: malformed JSON, a bad query value, a NUL in the URL, or a failed CSRF "
    "check (cookie callers).",
    401: "Not signed in, or the token is unknown, expired or revoked.",
    403: "Signed in without a role this needs.",
    404: "Not found, or a case the caller may not see.",
    409: "Conflict: stale version (If-Match), not running, or already done.",
    410: "Gone: the case's data was purged under the retention policy.",
    413: "The request body is larger than the limit (8 MiB).",
    415: "Unsupported media type.",
    422: "Validation failed: details name each field, or the BPMN element id and line.",
    429: "Too many failed sign-ins: wait Retry-After seconds.",
    503: "A dependency is down.",
}
JSON = "application/json"
HTML = {"text/html": {"type": "string"}}
METHODS = ("get", "put", "post", "patch", "delete")
_PARAM = re.compile(r"<(?:(?P<conv>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTERS = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string"},
}

Content = type[BaseModel] | Mapping[str, dict | type[BaseModel]] | None


@dataclass(frozen=True)
class Spec:
    summary: str
    body: Content = None
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    responses: Mapping[int, Content] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    description: str = ""
    tag: str | None = None


def spec(
    summary: str,
    *,
    body: Content = None,
    query: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
    responses: Mapping[int, Content] | None = None,
    errors: tuple[int, ...] = (),
    description: str = "",
    tag: str | None = None,
) -> Callable[[Callable], Callable]:
    """Record on the view what it takes and answers (read by ``build_document``)."""
    if not responses or not any(200 <= status < 400 for status in responses):
        raise ValueError(f"{summary!r}: declare at least one 2xx or 3xx response")

    def mark(view: Callable) -> Callable:
        view.api_spec = Spec(
            summary, body, query, headers, dict(responses), tuple(errors), description, tag
        )
        return view

    return mark


class _Schemas:
    """Component schemas of every model used, with ``$ref`` links between them."""

    def __init__(self) -> None:
        self.components: dict[str, dict] = {}

    def ref(self, model: type[BaseModel]) -> dict:
        schema = model.model_json_schema(ref_template=REF, by_alias=True, mode="serialization")
        self.components.update(schema.pop("$defs", {}))
        self.components[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}

    def content(self, declared: Content) -> dict | None:
        if declared is None:
            return None
        if isinstance(declared, type) and issubclass(declared, BaseModel):
            return {JSON: {"schema": self.ref(declared)}}
        # A mapping may name a model per media type (e.g. JSON or CSV of the same report).
        return {
            media: {"schema": self.ref(schema) if _is_model(schema) else schema}
            for media, schema in declared.items()
        }

    def parameters(self, model: type[BaseModel] | None, where: str) -> list[dict]:
        if model is None:
            return []
        schema = model.model_json_schema(ref_template=REF, by_alias=True, mode="validation")
        self.components.update(schema.pop("$defs", {}))
        required = set(schema.get("required", ()))
        params = []
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            description = prop.pop("description", None)
            prop.pop("title", None)
            param = {
                "name": name,
                "in": where,
                "required": name in required,
                "schema": _no_null(prop),
            }
            if description:
                param["description"] = description
            params.append(param)
        return params


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _no_null(schema: dict) -> dict:
    """``X | None`` of a query or header field: absent is how one says "none" there."""
    options = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if "anyOf" in schema and len(options) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        rest.pop("default", None)
        return {**options[0], **rest}
    return schema


def _path(rule: str) -> tuple[str, list[dict]]:
    params = []

    def replace(match: re.Match) -> str:
        name = match["name"]
        schema = dict(_CONVERTERS.get(match["conv"] or "", {"type": "string", "minLength": 1}))
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _PARAM.sub(replace, rule), params


def _access_text(rule: Rule | None) -> str:
    if rule is None:
        return "**No access rule: every request is refused.**"
    if rule.public:
        return "Public: no sign-in needed."
    if rule.roles:
        admin = "admin passes every role check" if rule.admin_passes else "not admin as such"
        who = f"Roles: {', '.join(rule.roles)} ({admin})."
    elif rule.anyone:
        who = "Any signed-in user."
    else:
        who = "Any signed-in user with a casework role (not board or auditor alone)."
    if rule.case_scoped:
        who += " Need-to-know: only parties to the case (anyone else gets 404)."
    return who


def _errors(rule: Rule | None, declared: Spec, has_body: bool, has_path_params: bool) -> set[int]:
    statuses = {400} | set(declared.errors)  # 400: a NUL in the URL is refused everywhere
    if rule is not None and not rule.public:
        statuses.add(401)
        if rule.roles or not rule.anyone:  # no role named: the records roles get 403
            statuses.add(403)
    if has_path_params or (rule is not None and rule.case_scoped):
        statuses.add(404)
    if has_body:
        statuses |= {413, 415, 422}
    return statuses


def _operation(
    app: Flask,
    endpoint: str,
    method: str,
    path_params: list,
    schemas: _Schemas,
    error_model: type[BaseModel],
    page: bool = False,
):
    view = app.view_functions[endpoint]
    rule: Rule | None = getattr(view, "access_rule", None)
    declared: Spec | None = getattr(view, "api_spec", None)
    operation: dict[str, Any] = {
        "operationId": f"{endpoint}.{method}" if method != "get" else endpoint,
        "tags": [endpoint.split(".")[0]],
    }
    if rule is not None:
        operation["x-access"] = {
            "roles": list(rule.roles),
            "public": rule.public,
            "case_scoped": rule.case_scoped,
            "casework": not rule.roles and not rule.public and not rule.anyone,
            "admin_passes": rule.admin_passes,
        }
        operation["security"] = [] if rule.public else [{"bearer": []}, {"cookie": []}]
    if declared is None:
        operation["summary"] = "(undocumented: the view has no @spec)"
        operation["x-undocumented"] = True
        operation["responses"] = {"default": {"description": "Undocumented."}}
        operation["parameters"] = path_params
        return operation
    if declared.tag:
        operation["tags"] = [declared.tag]
    operation["summary"] = declared.summary
    operation["description"] = " ".join(filter(None, (declared.description, _access_text(rule))))
    operation["parameters"] = (
        path_params
        + schemas.parameters(declared.query, "query")
        + schemas.parameters(declared.headers, "header")
    )
    has_body = declared.body is not None and method not in ("get", "delete")
    if has_body:
        operation["requestBody"] = {"required": True, "content": schemas.content(declared.body)}
    responses: dict[str, dict] = {}
    for status, content in sorted(declared.responses.items()):
        response: dict[str, Any] = {"description": _describe(status)}
        body = schemas.content(content)
        if body is not None:
            response["content"] = body
        responses[str(status)] = response
    error_ref = schemas.content(HTML if page else error_model)  # pages: an error page
    for status in sorted(_errors(rule, declared, has_body, bool(path_params))):
        responses.setdefault(
            str(status), {"description": ERROR_TEXT.get(status, "Error."), "content": error_ref}
        )
    if page and method == "get" and rule is not None and not rule.public:
        # Not signed in: a page sends the browser to the sign-in form.
        responses.setdefault("302", {"description": "Not signed in: to the sign-in page."})
    operation["responses"] = responses
    return operation


def _describe(status: int) -> str:
    return {
        200: "OK.",
        201: "Created.",
        204: "Done; no body.",
        302: "Redirect.",
        303: "Redirect.",
    }.get(status, ERROR_TEXT.get(status, "Answer."))


def build_document(app: Flask, error_model: type[BaseModel]) -> dict:
    """The OpenAPI 3.1 document of every route of ``app`` (``static`` aside). ``error_model``:
    the one error shape (``service.api.schemas.ErrorOut``), passed in because the API's models
    sit above this module."""
    schemas = _Schemas()
    paths: dict[str, dict] = {}
    for url_rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if url_rule.endpoint == "static":
            continue
        path, path_params = _path(url_rule.rule)
        item = paths.setdefault(path, {})
        for method in METHODS:
            if method.upper() in (url_rule.methods or ()):
                item[method] = _operation(
                    app,
                    url_rule.endpoint,
                    method,
                    path_params,
                    schemas,
                    error_model,
                    is_page_path(path),
                )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "safeguard-flow",
            "version": app.config.get("API_VERSION", "1"),
            "description": "Workflow service for children's safeguarding partnerships. "
            "Errors: {error: {code, message, details}}. Lists: {items, next_cursor}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from POST /api/auth/token.",
                },
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app.config.get("SESSION_COOKIE_NAME", "session"),
                    "description": "The browser session of /login; changes also need the "
                    "X-CSRFToken header (GET /api/me gives it).",
                },
            },
        },
    }
