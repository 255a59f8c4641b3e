"""Reading request bodies and query strings strictly: unknown fields and wrong types are 4xx."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import request

from service.errors import ApiError

MAX_INT = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL


def json_body(allowed: dict[str, type | tuple[type, ...]], required: tuple[str, ...] = ()) -> dict:
    """The JSON object of the request, checked against ``allowed`` field types."""
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
    for name in required:
        if body.get(name) in (None, ""):
            problems.append({"field": name, "message": "is required"})
    if problems:
        raise ApiError(422, "invalid_input", "Some fields are not valid.", problems)
    return body


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
    """ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` refuses."""
    return raw.isascii() and raw.isdigit()


def max_length(body: dict, limits: dict[str, int]) -> None:
    """422 naming each string field longer than its column allows."""
    problems = [
        {"field": name, "message": f"must be at most {limit} characters"}
        for name, limit in limits.items()
        if isinstance(body.get(name), str) and len(body[name]) > limit
    ]
    if problems:
        raise ApiError(422, "invalid_input", "Some fields are not valid.", problems)


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
