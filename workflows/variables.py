"""Names a diagram's scripts can use, and how large their values may be: what the engine accepts
as variables and answers, and what a script may leave in the task data."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from workflows.errors import InvalidInput

VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
MAX_VARIABLE = 64 * 1024  # characters of one variable's JSON
MAX_DATA = 1024 * 1024  # characters of all of an instance's variables as JSON


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str, separators=(",", ":")))


def oversized(data: Mapping[str, Any]) -> tuple[str | None, str] | None:
    """``(name, why)`` for the first variable over :data:`MAX_VARIABLE`, ``(None, why)`` when
    the whole is over :data:`MAX_DATA` or cannot be stored, else ``None``.

    One JSON encoding of the whole answers the common case: if it is small, every part is.
    """
    try:
        total = _size({k: v for k, v in data.items() if not k.startswith("_")})
    except (ValueError, TypeError, RecursionError):
        return None, "cannot be stored (the data refers to itself or is nested too deep)"
    if total <= MAX_VARIABLE:
        return None
    for name, value in data.items():
        if not name.startswith("_") and (size := _size(value)) > MAX_VARIABLE:
            return name, f"would be {size // 1024} KB; a variable may hold at most 64 KB"
    if total > MAX_DATA:
        return None, f"the data would be {total // 1024} KB; an instance may hold at most 1 MB"
    return None


def check_variables(variables: Mapping[str, Any] | None, prefix: str = "variables") -> dict:
    """Refuse names a script could not use or that would shadow the sandbox's globals, and
    values over the size limits (64 KB a variable, 1 MB in all)."""
    if variables is None:
        return {}
    if not isinstance(variables, Mapping):
        raise InvalidInput("must be an object of name: value pairs", field=prefix)
    variables = dict(variables)
    for name in variables:
        if not isinstance(name, str) or not VARIABLE_NAME.match(name):
            raise InvalidInput(
                f"{name!r} is not a usable variable name (letters, digits, _; "
                "starting with a letter)",
                field=f"{prefix}.{name}",
            )
    problem = oversized(variables)
    if problem is not None:
        name, message = problem
        raise InvalidInput(message, field=f"{prefix}.{name}" if name else prefix)
    return variables
