"""The import graph has no cycle, the layers import only downwards, and no import inside a
function hides a dependency on the caller's own package.

Every ``.py`` file of the five packages is parsed with ``ast`` (nothing is imported), and every
``import`` counts: at module level, inside a function, under ``TYPE_CHECKING``. Layers, top down
(``docs/architecture.md``):

    service's entry points (app, cli, wsgi, gunicorn_conf, scheduling)  — build the app, start
        processes and the timer scheduler
    service.pages → service.api → service.casework (one module per use case)
        → service (the request plumbing, access, errors, …)
    records   — registers, consent, reports, retention, the audit chain; no Flask
    tasks
    workflows
    storage
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "records", "tasks", "workflows", "storage")

# The composition root: these modules wire everything together and nothing imports them back.
ENTRY_POINTS = frozenset(
    {"service.app", "service.cli", "service.wsgi", "service.gunicorn_conf", "service.scheduling"}
)

# What each layer may import besides itself. "service" here is the web package's own modules
# (access, errors, the request context, …); its pages and API sit above it.
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "workflows": {"storage"},
    "tasks": {"workflows", "storage"},
    "records": {"tasks", "workflows", "storage"},
    "service": {"records", "tasks", "workflows", "storage"},
    "service.casework": {"service", "records", "tasks", "workflows", "storage"},
    "service.api": {"service.casework", "service", "records", "tasks", "workflows", "storage"},
    "service.pages": {
        "service.api",
        "service.casework",
        "service",
        "records",
        "tasks",
        "workflows",
        "storage",
    },
    "service:entry": {
        "service.pages",
        "service.api",
        "service.casework",
        "service",
        "records",
        "tasks",
        "workflows",
        "storage",
    },
}

# Imports inside a function of a module of the caller's own top-level package, each with why it
# cannot be at the top. Keep it short.
FUNCTION_IMPORTS_ALLOWED = {
    # gunicorn reads its config file before it loads the app: nothing of the service may be
    # imported before PROMETHEUS_MULTIPROC_DIR is set (prometheus_client reads it on import),
    # and the hooks reach the app gunicorn loaded (service.wsgi) only once it exists.
    ("service.gunicorn_conf", "service.wsgi"),
    ("service.gunicorn_conf", "service.scheduling"),
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The longest known module ``name`` names (``a.b.c`` may be a function ``c`` of ``a.b``)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path) -> Iterator[tuple[str, bool]]:
    """(imported module, inside a function?) for every import of one of our modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if (target := _resolve(alias.name)) is not None:
                        yield target, in_function
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")
                    anchor = anchor[: len(anchor) - child.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    target = _resolve(f"{base}.{alias.name}") or _resolve(base)
                    if target is not None:
                        yield target, in_function
            yield from visit(child, nested)

    yield from visit(tree, False)


EDGES: dict[str, set[str]] = defaultdict(set)  # module → the modules it imports
IN_FUNCTIONS: set[tuple[str, str]] = set()  # (module, imported) by an import inside a function
for _name, _path in MODULES.items():
    for _target, _inside in _imports(_name, _path):
        if _target != _name:
            EDGES[_name].add(_target)
            if _inside:
                IN_FUNCTIONS.add((_name, _target))


def layer(module: str) -> str:
    if module in ENTRY_POINTS:
        return "service:entry"
    parts = module.split(".")
    sublayers = ("api", "pages", "casework", "records")
    if parts[0] == "service" and len(parts) > 2 and parts[1] in sublayers:
        return ".".join(parts[:2])
    return parts[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_graph_sees_every_package():
    assert {layer(name) for name in MODULES} >= {
        "service",
        "service.api",
        "service.pages",
        "service.casework",
        "service:entry",
        "records",
        "tasks",
        "workflows",
        "storage",
    }
    assert EDGES["service.app"], "the factory imports something, or the parser is broken"


def test_no_module_imports_itself_back():
    graph = {name: set(targets) for name, targets in EDGES.items()}
    assert _cycles(graph) == []


def test_no_package_imports_itself_back():
    graph: dict[str, set[str]] = defaultdict(set)
    for name, targets in EDGES.items():
        for target in targets:
            if layer(name) != layer(target):
                graph[layer(name)].add(layer(target))
    assert _cycles(graph) == []


def test_layers_import_only_downwards():
    wrong = sorted(
        f"{name} ({layer(name)}) imports {target} ({layer(target)})"
        for name, targets in EDGES.items()
        for target in targets
        if layer(target) != layer(name) and layer(target) not in ALLOWED.get(layer(name), set())
    )
    assert wrong == []


def test_no_import_inside_a_function_reaches_into_its_own_package():
    hidden = sorted(
        (name, target)
        for name, target in IN_FUNCTIONS
        if name.split(".")[0] == target.split(".")[0]
    )
    assert [pair for pair in hidden if pair not in FUNCTION_IMPORTS_ALLOWED] == []
    assert set(hidden) >= FUNCTION_IMPORTS_ALLOWED, (
        "an allowed import is gone: drop it from the list"
    )
