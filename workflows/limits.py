"""Time and memory bounds on one evaluation of diagram code (a script, condition, form rule or
assignee expression).

Diagram code is rewritten before it is compiled (``workflows/bounding.py``) so that it calls the
guards below: every loop round, comprehension item and lambda call *ticks* the evaluation's
:class:`Budget`, and the operations that can build a huge value in one C-level call (``**``, ``*``,
``<<``, ``+``, ``%``-formatting, format widths, padding methods, ``join``, ``replace``, ``range``,
``list(...)``, ``sorted(...)`` …) are checked *before* they run. A tracer or a watchdog thread
cannot do the second part: ``10 ** 10 ** 8`` is one C call that nothing interrupts.

A tick looks at the clock; at most once a millisecond it also compares the process's resident
memory with what it was at the first look (after the first millisecond, or at the first large
value), and yields the GIL to other threads. Going over any bound *trips* the budget: the
guard raises :class:`LimitExceeded`, and every later tick and the end of the evaluation raise it
again, so a script that catches the exception still fails.
"""

from __future__ import annotations

import operator
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

MAX_SECONDS = 1.0  # one evaluation
MAX_MEMORY = 64 * 1024 * 1024  # growth of the process's resident memory during one evaluation
MAX_ITEMS = 1_000_000  # characters or elements of one value built by one operation
MAX_INT_BITS = 100_000  # about 30 000 decimal digits
MAX_WIDTH = 10_000  # a width or precision in a format
MAX_TICKS = 5_000_000  # loop rounds, comprehension items and lambda calls
CHECK_EVERY = 0.001  # seconds between looks at the clock's deadline and the memory
SEQUENCES = (str, bytes, bytearray, list, tuple)
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class LimitExceeded(Exception):
    """Diagram code went over a bound; the message says which, for the process owner."""


def resident_memory() -> int:
    """Bytes of this process in memory now (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:  # pragma: no cover - not Linux
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Budget:
    """What one evaluation may still spend; made by :func:`evaluation` for each run."""

    __slots__ = ("started", "deadline", "next_check", "memory", "ticks", "tripped", "seconds")

    def __init__(self, seconds: float = MAX_SECONDS):
        self.started = time.monotonic()
        self.seconds = seconds
        self.deadline = self.started + seconds
        # The first look (memory baseline) after a millisecond: most evaluations end before.
        self.next_check = self.started + CHECK_EVERY
        self.memory: int | None = None
        self.ticks = 0
        self.tripped: str | None = None

    def tick(self) -> None:
        if self.tripped is not None:
            raise LimitExceeded(self.tripped)
        self.ticks += 1
        if self.ticks > MAX_TICKS:
            self.trip(f"ran more than {MAX_TICKS:,} loop rounds")
        now = time.monotonic()
        if now >= self.next_check:
            self.check(now)

    def check(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if now > self.deadline:
            self.trip(f"ran longer than {self.seconds:g} s")
        used = resident_memory()
        if self.memory is None:
            self.memory = used
        elif used - self.memory > MAX_MEMORY:
            self.trip(f"used more than {MAX_MEMORY // (1024 * 1024)} MB of memory")
        self.next_check = now + CHECK_EVERY
        time.sleep(0)  # let other threads (other requests) take the GIL now, not in 5 ms

    def trip(self, message: str):
        self.tripped = message
        raise LimitExceeded(message)

    def refuse(self, what: str):
        self.trip(
            f"{what} would be too large (diagram code may build at most {MAX_ITEMS:,} items "
            f"or {MAX_INT_BITS:,}-bit numbers at once)"
        )


_current = threading.local()


class evaluation:  # noqa: N801 - used as a context manager, like a function
    """``with evaluation():`` runs diagram code under a fresh budget (nesting restores the
    outer one); on leaving, a budget tripped and then caught by the code still fails."""

    __slots__ = ("budget", "outer")

    def __init__(self, seconds: float = MAX_SECONDS):
        self.budget = Budget(seconds)

    def __enter__(self) -> Budget:
        self.outer = getattr(_current, "budget", None)
        _current.budget = self.budget
        return self.budget

    def __exit__(self, kind, value, traceback) -> None:
        _current.budget = self.outer
        if kind is None and self.budget.tripped is not None:
            raise LimitExceeded(self.budget.tripped)


def _budget() -> Budget:
    budget = getattr(_current, "budget", None)
    if budget is None:  # code compiled for the sandbox run outside an evaluation
        budget = _current.budget = Budget(float("inf"))
    return budget


def tick() -> None:
    _budget().tick()


def iterate(iterable: Iterable) -> Iterator:
    """The items of ``iterable``, ticking once per item (comprehensions, unpacking)."""
    budget = _budget()
    for item in iterable:
        budget.tick()
        yield item


def note_size(budget: Budget, size: int) -> None:
    """After an operation made a value of ``size`` items: a large one looks at memory now."""
    if size >= 65_536:
        budget.check()


def _items(value: Any) -> int | None:
    return len(value) if isinstance(value, SEQUENCES) else None


def _int(value: Any) -> bool:
    return isinstance(value, int)


def _check_binary(budget: Budget, op: str, a: Any, b: Any) -> None:
    if op == "**":
        if _int(a) and _int(b) and b > 0 and abs(a) > 1 and a.bit_length() * b > MAX_INT_BITS:
            budget.refuse("the power")
    elif op == "*":
        if _int(a) and _int(b):
            if a.bit_length() + b.bit_length() > MAX_INT_BITS:
                budget.refuse("the product")
        else:
            times, sequence = (b, a) if _int(b) else (a, b)
            n = _items(sequence)
            if _int(times) and n is not None and n * times > MAX_ITEMS:
                budget.refuse("the repeated sequence")
    elif op == "<<":
        if _int(a) and _int(b) and b > 0 and a.bit_length() + b > MAX_INT_BITS:
            budget.refuse("the shift")
    elif op == "+":
        n, m = _items(a), _items(b)
        if n is not None and m is not None and n + m > MAX_ITEMS:
            budget.refuse("the joined sequences")
    elif op == "%" and isinstance(a, str | bytes):
        check_format(budget, a if isinstance(a, str) else a.decode("latin-1"), percent=True)


_OPERATORS = {
    "**": operator.pow,
    "*": operator.mul,
    "<<": operator.lshift,
    "+": operator.add,
    "%": operator.mod,
}
_INPLACE = {
    "**": operator.ipow,
    "*": operator.imul,
    "<<": operator.ilshift,
    "+": operator.iadd,
    "%": operator.imod,
}
_NUMBERS = (int, float)


def binary(op: str, a: Any, b: Any) -> Any:
    """``a <op> b`` after checking the result cannot be huge."""
    if op == "+":  # the common cases: numbers, and short strings
        if type(a) in _NUMBERS and type(b) in _NUMBERS:
            return a + b
        if type(a) is str and type(b) is str and len(a) + len(b) < 65_536:
            return a + b
    return _checked(_OPERATORS[op], op, a, b)


def inplace(op: str, a: Any, b: Any) -> Any:
    """``a <op>= b`` (in place for lists, as Python does) after the same check."""
    if op == "+" and type(a) in _NUMBERS and type(b) in _NUMBERS:
        return a + b
    return _checked(_INPLACE[op], op, a, b)


def _checked(function: Callable[[Any, Any], Any], op: str, a: Any, b: Any) -> Any:
    """Run ``function(a, b)`` once the budget allows its result, and count what it built."""
    budget = _budget()
    _check_binary(budget, op, a, b)
    budget.tick()
    result = function(a, b)
    note_size(budget, _items(result) or 0)
    return result


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_DIGITS = re.compile(r"\d+")


def check_format(budget: Budget, spec: str, percent: bool = False) -> None:
    """Refuse widths and precisions over :data:`MAX_WIDTH` (``"%999999999d"``, ``{x:>1e9}``)."""
    if percent:
        numbers = [n for match in _PERCENT_SPEC.finditer(spec) for n in match.groups() if n]
        if "*" in numbers:
            budget.trip("a '*' width in %-formatting is not allowed")
    else:
        numbers = _DIGITS.findall(spec)
    if any(len(n) > 6 or int(n) > MAX_WIDTH for n in numbers if n != "*"):
        budget.trip(f"a format width or precision over {MAX_WIDTH:,} is not allowed")


_CONVERSIONS = {115: str, 114: repr, 97: ascii}


def formatted(value: Any, conversion: int, spec: str) -> str:
    """One ``{value!conversion:spec}`` of an f-string, with the spec's widths checked."""
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    if spec:
        check_format(_budget(), spec)
    return format(value, spec)
