"""One name per concept: the child's identifier is the *business key* everywhere (issue 16 point
3; docs/internals.md, "Two names").

The Python sources, templates and docs may not call it ``child_key``, ``child_id``, "child key",
"the child's key" or ``/cases/<child>``; no model attribute, parameter or template variable is
``child``. Left out: the contract copied from the partnership (``docs/protocol/``), migrations
(history), the changelog (history), and process variables of diagrams, which are contract. The
registers' wire name ``child`` (api.md) is mapped in the boundary modules below and nowhere else.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import inspect

from storage.models import Base

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("service", "records", "tasks", "workflows", "storage", "tests", "benchmarks", "fuzz")
DOCS = ("README.md", "docs")
LEFT_OUT = ("docs/protocol/", "/migrations/", "node_modules/", "service/static/", "__pycache__")
# Where ``child`` is the wire name of the registers (api.md): the JSON and the query are made and
# parsed here, mapped to ``business_key``.
BOUNDARY = ("service/api/consents.py", "service/api/sharing.py", "service/api/schemas_records.py")
# A process variable of a diagram walk (contract, like ``child_age``), not the business key.
PROCESS_VARIABLES = {("tests/diagrams/walking.py", '"child_id"')}
OLD_NAMES = re.compile(
    r"\bchilds?_keys?\b|\bchild_ids?\b|\bchild(?:'s)? keys?\b|\bchild'?s id\b|<child>",
    re.IGNORECASE,
)
# Not yet renamed: modules another change is rewriting (remove an entry once its text is right).
PENDING: set[tuple[str, str]] = set()
TEMPLATE_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
STRING = re.compile(r"\"[^\"]*\"|'[^']*'")


def _files(*suffixes: str) -> list[Path]:
    found = [ROOT / name for name in DOCS if (ROOT / name).suffix in suffixes]
    for top in (*SOURCES, *DOCS):
        if (ROOT / top).is_dir():
            found.extend(p for p in (ROOT / top).rglob("*") if p.suffix in suffixes)
    return sorted(p for p in found if not any(part in p.as_posix() for part in LEFT_OUT))


def _lines(path: Path):
    relative = path.relative_to(ROOT).as_posix()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        yield relative, number, line


def test_no_other_name_for_the_business_key():
    found = []
    for relative, number, line in (x for p in _files(".py", ".html", ".md") for x in _lines(p)):
        if relative == "tests/test_names.py":
            continue
        for match in OLD_NAMES.finditer(line):
            quoted = f'"{match.group()}"'
            if (relative, quoted) in PROCESS_VARIABLES and quoted in line:
                continue
            if (relative, match.group()) in PENDING:
                continue
            found.append(f"{relative}:{number}: {match.group()!r} (say business key)")
    assert found == []


def _child_names(tree: ast.AST):
    """Where ``child`` is a name in the code: a parameter, a keyword argument, an attribute or an
    annotated field (a plain local ``child`` may be a child task or instance, not a key)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg | ast.keyword):
            name = node.arg
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.AnnAssign):
            name = getattr(node.target, "id", None)
        else:
            continue
        if name == "child":
            yield node.lineno


def test_no_python_name_child_for_the_business_key():
    found = []
    for path in _files(".py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative not in BOUNDARY:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found.extend(f"{relative}:{line}: child" for line in _child_names(tree))
    assert found == []


def test_no_template_variable_child():
    found = []
    for path in _files(".html"):
        text = path.read_text(encoding="utf-8")
        for block in TEMPLATE_CODE.finditer(text):
            if re.search(r"\bchild\b", STRING.sub("", block.group())):
                number = text.count("\n", 0, block.start()) + 1
                found.append(f"{path.relative_to(ROOT).as_posix()}:{number}: {block.group()}")
    assert found == []


def test_no_model_attribute_is_called_child():
    found = [
        f"storage/models.py: {mapper.class_.__name__}.{attribute.key}"
        for mapper in Base.registry.mappers
        for attribute in inspect(mapper.class_).attrs
        if attribute.key in ("child", "child_key", "child_id")
    ]
    assert found == []
