"""Reading request bodies and query strings strictly: unknown fields and wrong types are 4xx."""

from __future__ import annotations

import base64
import json
import math
import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import MaxLen
from flask import request
from pydantic import BaseModel

from service.errors import ApiError

MAX_INT = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL
# Inside a field's value (instance variables, form data, message payloads): deeper values make
# instance state that SpiffWorkflow cannot copy or restore (RecursionError at a few hundred
# levels), and numbers beyond 64 bits or not finite (NaN, 1e400) are not portable JSON.
MAX_DEPTH = 16
MAX_LONG = 2**63 - 1


def json_body(
    allowed: dict[str, type | tuple[type, ...]],
    required: tuple[str, ...] = (),
    limits: dict[str, int] | None = None,
) -> dict:
    """The JSON object of the request, checked against ``allowed`` field types (and the
    maximum lengths of ``limits``): every problem of the body in one 422."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send a JSON body (application/json).")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, "malformed_json", "The request body is nested too deeply.") from None
    if body is None and request.get_data():
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.")
    body = body if body is not None else {}
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "The request body must be a JSON object.")
    problems = []
    for name in body:
        if name not in allowed:
            problems.append({"field": name, "message": "unknown field"})
    for name, kind in allowed.items():
        if name in body and body[name] is not None and not _is(body[name], kind):
            problems.append({"field": name, "message": f"must be {_describe(kind)}"})
        elif isinstance(body.get(name), str) and "\x00" in body[name]:
            problems.append({"field": name, "message": "must not contain NUL characters"})
        elif type(body.get(name)) is int and not -MAX_INT <= body[name] <= MAX_INT:
            problems.append({"field": name, "message": "is out of range"})
        elif isinstance(body.get(name), dict | list | float):
            message = _unstorable(body[name])
            if message:
                problems.append({"field": name, "message": message})
    for name in required:
        if body.get(name) in (None, ""):
            problems.append({"field": name, "message": "is required"})
    problems += _too_long(body, limits or {})
    if problems:
        raise ApiError(422, "invalid_input", "Some fields are not valid.", problems)
    return body


def _unstorable(value: Any) -> str | None:
    """Why a nested value cannot be kept in an instance's state, or None. Iterative, so that
    the check itself cannot recurse too deeply."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return "must hold finite numbers only"
        if type(item) is int and not -MAX_LONG - 1 <= item <= MAX_LONG:
            return "must hold numbers within 64 bits"
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return f"must not be nested more than {MAX_DEPTH} levels deep"
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def body_of(model: type[BaseModel]) -> dict:
    """``json_body`` with the fields, types, required names and maximum lengths
    that ``model`` declares: the model is also the body's schema in the OpenAPI document."""
    allowed, required, limits = _rules_of(model)
    return json_body(allowed, required, limits)


@cache
def _rules_of(model: type[BaseModel]) -> tuple[dict, tuple[str, ...], dict[str, int]]:
    allowed, required, limits = {}, [], {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        kinds, limit = _kinds(info.annotation)
        limit = next((m.max_length for m in info.metadata if isinstance(m, MaxLen)), limit)
        allowed[key] = kinds[0] if len(kinds) == 1 else kinds
        if info.is_required():
            required.append(key)
        if limit is not None:
            limits[key] = limit
    return allowed, tuple(required), limits


def _kinds(annotation: Any) -> tuple[tuple[type, ...], int | None]:
    """The Python types ``json_body`` checks for an annotation, and a ``max_length`` in it."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extras = get_args(annotation)
        kinds, limit = _kinds(inner)
        for extra in extras:
            for meta in getattr(extra, "metadata", [extra]):
                if isinstance(meta, MaxLen):
                    limit = meta.max_length
        return kinds, limit
    if origin in (Union, types.UnionType):
        kinds, limit = (), None
        for option in get_args(annotation):
            if option is not type(None):
                more, more_limit = _kinds(option)
                kinds, limit = kinds + more, limit if limit is not None else more_limit
        return kinds, limit
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return (dict,), None
    if origin is not None:
        return (origin,), None
    return (annotation,), None


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        return False
    return isinstance(value, kind)


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        dict: "an object",
        list: "a list",
        bool: "true/false",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def limit_arg() -> int:
    raw = request.args.get("limit", "50")
    if not is_whole_number(raw) or not 1 <= int(raw) <= 500:
        raise ApiError(400, "bad_request", "limit must be a whole number from 1 to 500.")
    return int(raw)


def is_whole_number(raw: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` refuses; and at most
    18 of them, so ``int`` never meets Python's limit on digits (ValueError at 4300)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


def _too_long(body: dict, limits: dict[str, int]) -> list[dict]:
    return [
        {"field": name, "message": f"must be at most {limit} characters"}
        for name, limit in limits.items()
        if isinstance(body.get(name), str) and len(body[name]) > limit
    ]


def encode_cursor(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor() -> list | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(raw.encode()))
        if not isinstance(values, list):
            raise ValueError
        return values
    except ValueError:
        raise ApiError(400, "bad_request", "cursor is not valid.") from None


def if_match() -> int | None:
    """api.md: ``If-Match: <version>`` makes a change conditional on the version read."""
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    expected = raw.strip().removeprefix("W/").strip('"')
    if not is_whole_number(expected) or int(expected) > MAX_INT:
        raise ApiError(400, "bad_request", "If-Match must be a version number.")
    return int(expected)
