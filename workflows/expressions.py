"""Scripts, conditions, timers and message payloads: each must compile as sandboxed Python.

Split from ``workflows.validation``: these checks hold what a diagram may *compute*, and they
are where diagrams from other modellers most often differ (Java EL and FEEL where this service
runs Python), so a foreign expression is named here with its Python form where there is one.
"""

from __future__ import annotations

import re

from workflows.dialects import foreign_dialect
from workflows.errors import Problem, problem_at
from workflows.form_rules import check_form_field
from workflows.parsing import CAMUNDA_NS, NSMAP
from workflows.sandbox import SandboxViolation, check_source
from workflows.structure import local_name

PYTHON = ("python", "python3", "py")


def _check_code(root, element, source: str | None, mode: str, what: str) -> list[Problem]:
    if source is None or not source.strip():
        return [problem_at(element, f"the {what} is empty")]
    foreign = foreign_dialect(source) if mode == "eval" else None
    if foreign is not None:
        dialect, python = foreign
        advice = f": write {python}" if python else ": rewrite it in Python"
        return [
            problem_at(
                element,
                f"the {what} {source.strip()!r} is {dialect}; {what}s here are Python "
                f"expressions over the task data{advice}",
            )
        ]
    try:
        check_source(source.strip() if mode == "eval" else source, mode)
    except SyntaxError as err:
        return [problem_at(element, f"the {what} does not compile (line {err.lineno}: {err.msg})")]
    except SandboxViolation as err:
        return [problem_at(element, f"the {what} is not allowed (line {err.line}): {err}")]
    return []


def check_expressions(root) -> list[Problem]:
    """Every script, condition, timer and message payload compiles as sandboxed Python; the
    library finds none of these problems before a case reaches them."""
    problems = []
    for script_task in root.xpath(".//bpmn:scriptTask", namespaces=NSMAP):
        fmt = (script_task.get("scriptFormat") or "python").lower()
        if fmt not in PYTHON:
            problems.append(
                problem_at(
                    script_task,
                    f"script format {fmt!r} is not supported: scripts here are Python",
                )
            )
            continue
        scripts = script_task.xpath("bpmn:script", namespaces=NSMAP)
        text = scripts[0].text if scripts else None
        problems += _check_code(root, script_task, text, "exec", "script")
    for cond in root.xpath(".//bpmn:conditionExpression", namespaces=NSMAP):
        language = (cond.get("language") or "python").strip().lower()
        if language not in PYTHON:
            problems.append(
                problem_at(
                    cond.getparent(),
                    f"condition language {cond.get('language')!r} is not supported: "
                    "conditions here are Python expressions over the task data",
                )
            )
            continue
        problems += _check_code(root, cond.getparent(), cond.text, "eval", "condition")
    for path in ("completionCondition", "loopCardinality"):
        for expr in root.xpath(f".//bpmn:{path}", namespaces=NSMAP):
            problems += _check_code(root, expr.getparent(), expr.text, "eval", path)
    for timer in root.xpath(".//bpmn:timerEventDefinition/*", namespaces=NSMAP):
        event = timer.getparent().getparent()
        text = (timer.text or "").strip()
        if re.fullmatch(r"R?\d*/?P[0-9YMWDTHS.]*", text):
            problems.append(problem_at(event, f'the timer {text!r} must be quoted: "{text}"'))
            continue
        problems += _check_code(root, event, text, "eval", f"timer {local_name(timer.tag)}")
    throws = ".//bpmn:intermediateThrowEvent/bpmn:messageEventDefinition"
    throws += " | .//bpmn:endEvent/bpmn:messageEventDefinition"
    for definition in root.xpath(throws, namespaces=NSMAP):
        event = definition.getparent()
        payload = definition.get(f"{{{CAMUNDA_NS}}}expression")
        if payload is None:
            problems.append(
                problem_at(event, "a message throw needs camunda:expression (its payload)")
            )
        else:
            problems += _check_code(root, event, payload, "eval", "message payload")
    for field in root.xpath(".//camunda:formData/camunda:formField", namespaces=NSMAP):
        problems += check_form_field(field)
    return problems
