"""Names a diagram's scripts can use: what the engine accepts as variables and answers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from workflows.errors import InvalidInput

VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def check_variables(variables: Mapping[str, Any] | None, prefix: str = "variables") -> dict:
    """Refuse names a script could not use or that would shadow the sandbox's globals."""
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
    return variables
