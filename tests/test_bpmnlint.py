"""The modeller's lint, run from the command line: bpmnlint with ``frontend/.bpmnlintrc``, the
same rules the browser bundle compiles in. A shipped diagram opens in the modeller without a
lint warning, and a drawing mistake is caught.

bpmnlint comes from npm with the front-end build (``make assets``). Without it the test is
skipped loudly, except with ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BPMNLINT = ROOT / "node_modules" / ".bin" / "bpmnlint"
CONFIG = ROOT / "frontend" / ".bpmnlintrc"
SHIPPED = sorted((ROOT / "bpmn").glob("*.bpmn"))


def _lint(*files: Path) -> subprocess.CompletedProcess:
    if not BPMNLINT.exists():
        message = "bpmnlint is not installed (run `make assets`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: the lint must run)")
        pytest.skip(f"!!! SKIPPING THE MODELLER LINT: {message}")
    return subprocess.run(
        [str(BPMNLINT), "--config", str(CONFIG), *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_shipped_diagrams_pass_the_modellers_lint():
    assert len(SHIPPED) == 4
    result = _lint(*SHIPPED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_finds_a_step_drawn_without_connections(tmp_path):
    diagram = (ROOT / "tests" / "fixtures" / "three_steps.bpmn").read_text()
    lonely = '<bpmn:userTask id="lonely_step" name="A step nobody reaches" />\n  </bpmn:process>'
    broken = tmp_path / "broken.bpmn"
    broken.write_text(diagram.replace("</bpmn:process>", lonely, 1))
    result = _lint(broken)
    assert result.returncode == 1
    assert "lonely_step" in result.stdout and "no-disconnected" in result.stdout
