"""``docs/architecture.md`` is a map that cannot drift: one line per module of the service's
packages, and no line for a module that is gone.

A new module without a line fails here, so the map is updated in the same change; so does a line
left behind by a move or a rename.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("service", "records", "tasks", "workflows", "storage")
LINE = re.compile(r"^- `(?P<path>[\w/]+\.py)` — \S")


def _modules() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" in relative or "__pycache__" in relative:
                continue
            if path.name == "__init__.py":  # a package is its heading in the map
                continue
            found.add(relative)
    return found


def _mapped() -> list[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return [m["path"] for m in map(LINE.match, text.splitlines()) if m]


def test_every_module_has_one_line_in_the_map():
    mapped = _mapped()
    twice = sorted({path for path in mapped if mapped.count(path) > 1})
    missing = sorted(_modules() - set(mapped))
    assert (missing, twice) == ([], [])


def test_every_line_of_the_map_names_a_module_that_exists():
    assert sorted(set(_mapped()) - _modules()) == []
