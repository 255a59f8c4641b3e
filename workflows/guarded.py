"""Guarded calls for diagram code: builtins that consume or build whole sequences, and the methods
that can make one value much larger than their inputs (``"x".ljust(10**9)``).

``workflows/bounding.py`` rewrites ``list(x)`` into ``_g_call(list, x)`` and ``s.ljust`` into
``_g_method(s, "ljust")``; the names themselves stay the real builtins, so ``isinstance(x, list)``
still works. Checks are made *before* the C-level call, since nothing can stop it once started.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sized
from typing import Any

from workflows.limits import (
    MAX_ITEMS,
    Budget,
    _budget,
    binary,
    check_format,
    iterate,
    note_size,
)

# Builtins whose call consumes an iterable in C (wrapped so that each item ticks), or builds a
# range whose length must be bounded, or (round) can take very long on a huge ``ndigits``.
CONSUMERS = frozenset(
    ["list", "tuple", "set", "dict", "sorted", "sum", "max", "min", "any", "all", "range", "round"]
)
_REAL = {name: getattr(builtins, name) for name in CONSUMERS}
_REAL_FUNCS = {id(f): name for name, f in _REAL.items()}

# Methods whose result can be far larger than their inputs.
GUARDED_METHODS = frozenset(
    [
        "ljust",
        "rjust",
        "center",
        "zfill",
        "expandtabs",
        "to_bytes",
        "replace",
        "join",
        "extend",
        "strftime",
        "translate",
    ]
)
_WIDTH_METHODS = frozenset(["ljust", "rjust", "center", "zfill", "to_bytes"])


def _sized(value: Any) -> bool:
    return isinstance(value, Sized)


def call(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``; for the real consuming builtins, bounded."""
    name = _REAL_FUNCS.get(id(function))
    if name is None or _REAL[name] is not function:
        return function(*args, **kwargs)  # a script's own value under that name
    budget = _budget()
    if name == "range":
        result = function(*args)
        try:
            size = len(result)
        except OverflowError:
            size = MAX_ITEMS + 1
        if size > MAX_ITEMS:
            budget.refuse("the range")
        return result
    if name == "round":
        digits = args[1] if len(args) > 1 else kwargs.get("ndigits")
        if isinstance(digits, int) and abs(digits) > 1000:
            budget.refuse("the rounding")
        return function(*args, **kwargs)
    if name == "sum" and len(args) > 1 and not isinstance(args[1], int | float | complex):
        total = args[1]  # sequences added up: one bounded ``+`` at a time, not C's quadratic sum
        for item in iterate(args[0]):
            total = binary("+", total, item)
        return total
    if args and not _sized(args[0]):
        args = (iterate(args[0]), *args[1:])
    budget.tick()
    result = function(*args, **kwargs)
    if _sized(result):
        note_size(budget, len(result))
    return result


def method(subject: Any, name: str) -> Any:
    """``subject.<name>``, wrapped so that a call is checked first."""
    bound = getattr(subject, name)
    unbound = isinstance(subject, type)  # ``str.ljust(s, n)``: the string is the first argument

    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        if unbound:
            if not args:
                return bound(*args, **kwargs)
            target, rest = args[0], list(args[1:])
        else:
            target, rest = subject, list(args)
        rest = _check_method(budget, name, target, rest, kwargs)
        budget.tick()
        result = bound(*([target] if unbound else []), *rest, **kwargs)
        if _sized(result):
            note_size(budget, len(result))
        return result

    return guarded


def _check_method(budget: Budget, name: str, target: Any, rest: list, kwargs: dict) -> list:
    """Refuse a call whose result would be over :data:`MAX_ITEMS`; the (possibly
    materialised) arguments to call with."""
    numbers = [v for v in (*rest, *kwargs.values()) if isinstance(v, int)]
    if name in _WIDTH_METHODS:
        if any(n > MAX_ITEMS for n in numbers):
            budget.refuse(f"the padded value ({name})")
    elif name == "expandtabs" and isinstance(target, str | bytes):
        tab = "\t" if isinstance(target, str) else b"\t"
        size = (numbers or [8])[0]
        if len(target) + target.count(tab) * max(size, 0) > MAX_ITEMS:
            budget.refuse("the expanded tabs")
    elif name == "replace" and isinstance(target, str | bytes) and len(rest) >= 2:
        old, new = rest[0], rest[1]
        if isinstance(old, str | bytes) and isinstance(new, str | bytes):
            found = target.count(old) if old else len(target) + 1
            limit = rest[2] if len(rest) > 2 else kwargs.get("count", -1)
            if isinstance(limit, int) and limit >= 0:
                found = min(found, limit)
            if len(target) + found * (len(new) - len(old)) > MAX_ITEMS:
                budget.refuse("the replacement")
    elif name in ("join", "extend") and rest:
        parts = rest[0]
        if not _sized(parts) or isinstance(parts, Mapping):
            parts = rest[0] = list(iterate(parts))
        if name == "join":
            size = sum(len(p) for p in parts if isinstance(p, str | bytes))
            size += len(target) * max(len(parts) - 1, 0) if _sized(target) else 0
        else:
            size = len(parts) + (len(target) if _sized(target) else 0)
        if size > MAX_ITEMS:
            budget.refuse(f"the result of {name}")
    elif name == "strftime" and rest and isinstance(rest[0], str):
        check_format(budget, rest[0])
    elif name == "translate" and rest and isinstance(rest[0], Mapping):
        longest = max((len(v) for v in rest[0].values() if isinstance(v, str | bytes)), default=1)
        if _sized(target) and len(target) * max(longest, 1) > MAX_ITEMS:
            budget.refuse("the translation")
    return rest
