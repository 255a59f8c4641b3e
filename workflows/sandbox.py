"""The restricted environment every BPMN script and condition runs in.

SpiffWorkflow's script engine is plain ``eval``/``exec``. Diagrams are edited by process owners in
a browser, so their scripts are untrusted: they get a small allow-list of builtins and helpers, and
their source is checked before it is compiled — no imports, no names or attributes that start with
an underscore (the usual ``().__class__.__mro__`` escapes), no frame or code objects, no
``str.format`` (which reaches attributes by name inside a string). The accepted code is then
rewritten to run under time and memory bounds (``workflows/bounding.py``, ``workflows/limits.py``).
"""

from __future__ import annotations

import ast
import builtins
import copy
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from workflows.bounding import GUARD_NAMES, bound
from workflows.clock import Clock, SystemClock
from workflows.limits import LimitExceeded, evaluation
from workflows.variables import oversized

SAFE_BUILTIN_NAMES = [
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "range",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "ValueError",
    "Exception",
    "True",
    "False",
    "None",
]
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
# What the rewritten code runs with: the allow-list plus the guards it calls (workflows/limits.py).
RUN_BUILTINS: dict[str, Any] = {**SAFE_BUILTINS, **GUARD_NAMES}

# Attributes that reach interpreter internals without a leading underscore.
FORBIDDEN_ATTRIBUTES = frozenset(
    [
        "format",
        "format_map",
        "mro",
        "gi_frame",
        "gi_code",
        "gi_yieldfrom",
        "cr_frame",
        "cr_code",
        "cr_await",
        "ag_frame",
        "ag_code",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_back",
        "f_code",
        "tb_frame",
        "tb_next",
        "co_code",
        "func_globals",
        "func_code",
        "im_func",
    ]
)

# Nodes that name a variable, and the field holding the name: besides plain names, patterns and
# ``except ... as`` bind names too (``except Exception as __builtins__`` replaces the builtins).
BOUND_NAME_FIELDS = {
    ast.Name: "id",
    ast.MatchAs: "name",
    ast.MatchStar: "name",
    ast.MatchMapping: "rest",
    ast.ExceptHandler: "name",
}


class SandboxViolation(Exception):
    """Source that the sandbox refuses to compile; ``line`` is 1-based within the script."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message)


def check_source(source: str, mode: str) -> ast.AST:
    """Parse ``source`` and refuse constructs that could leave the sandbox.

    Raises ``SyntaxError`` for code that does not parse and ``SandboxViolation`` for code that
    parses but is not allowed.
    """
    tree = ast.parse(source, mode=mode)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise SandboxViolation("imports are not allowed in diagram scripts", line)
        if isinstance(node, ast.Global | ast.Nonlocal):
            raise SandboxViolation("global and nonlocal are not allowed in diagram scripts", line)
        field = BOUND_NAME_FIELDS.get(type(node))
        name = getattr(node, field) if field else None
        if name and name.startswith("_"):
            raise SandboxViolation(f"the name {name!r} is not allowed (leading underscore)", line)
        if isinstance(node, ast.Attribute):
            attributes = [node.attr]
        elif isinstance(node, ast.MatchClass):
            attributes = node.kwd_attrs  # `case str(format=f)` reads an attribute by name
        else:
            attributes = []
        for attribute in attributes:
            if attribute.startswith("_") or attribute in FORBIDDEN_ATTRIBUTES:
                raise SandboxViolation(f"the attribute {attribute!r} is not allowed", line)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            # Functions would let a script keep references across calls and build generators whose
            # frames are reachable; data transformations do not need them.
            raise SandboxViolation("defining functions or classes is not allowed", line)
    return tree


class _CompileCache:
    """Checked, compiled code objects per source text: scripts repeat across every instance."""

    def __init__(self, limit: int = 4096):
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], Any] = {}
        self._limit = limit

    def get(self, source: str, mode: str):
        key = (mode, source)
        code = self._items.get(key)
        if code is None:
            tree = check_source(source, mode)
            code = compile(bound(tree), "<string>", mode)
            with self._lock:
                if len(self._items) >= self._limit:
                    self._items.clear()
                self._items[key] = code
        return code


_CACHE = _CompileCache()


def _default_helpers(clock: Clock) -> dict[str, Any]:
    return {
        "datetime": datetime,
        "timedelta": timedelta,
        "timezone": timezone,
        "now": clock.now,
    }


class SandboxEnvironment(TaskDataEnvironment):
    """Task-data environment that only runs checked code with the allow-listed globals."""

    def evaluate(self, expression, context, external_context=None):
        # Stripped as validation strips it: diagrams often put a condition on its own lines.
        code = _CACHE.get(expression.strip(), "eval")
        my_globals = copy.copy(self.globals)
        my_globals.update(external_context or {})
        my_globals.update(_data_only(context))
        my_globals["__builtins__"] = RUN_BUILTINS
        with evaluation():
            return eval(code, my_globals)

    def execute(self, script, context, external_context=None):
        code = _CACHE.get(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        for key in [k for k in context if k.startswith("_")]:
            context.pop(key)
        context.update(self.globals)
        context.update(external_context or {})
        context["__builtins__"] = RUN_BUILTINS
        try:
            with evaluation():
                exec(code, context)
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        problem = oversized(context)
        if problem is not None:
            name, message = problem
            raise LimitExceeded(f"the variable {name!r} {message}" if name else message)
        return True


def _data_only(context: Mapping[str, Any]) -> dict[str, Any]:
    # Task data is untrusted too: a variable called __builtins__ must not replace the allow-list.
    return {k: v for k, v in context.items() if not k.startswith("_")}


class SandboxScriptEngine(PythonScriptEngine):
    """Says why a condition or timer failed; the base engine only repeats the expression."""

    def evaluate(self, task, expression, external_context=None):
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression {expression.strip()!r}")
            raise
        except Exception as err:
            raise WorkflowTaskException(
                f"Error evaluating expression {expression.strip()!r}: "
                f"{err.__class__.__name__}: {err}",
                task=task,
                exception=err,
            ) from err


def make_script_engine(
    clock: Clock | None = None, helpers: Mapping[str, Callable | Any] | None = None
) -> PythonScriptEngine:
    """A script engine for diagrams; higher layers add helpers (e.g. working-day arithmetic)."""
    clock = clock or SystemClock()
    env_globals = _default_helpers(clock)
    env_globals.update(helpers or {})
    env_globals["__builtins__"] = RUN_BUILTINS
    engine = SandboxScriptEngine(environment=SandboxEnvironment(env_globals))
    engine.clock = clock  # timer events read "now" from here (workflows/timers.py)
    return engine
