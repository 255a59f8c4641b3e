"""What a ``camunda:formField`` may declare: types, ids and constraints.

Shared by the deploy-time check (``workflows.validation``) and the completion-time check
(``tasks/forms.py``), so a rule the validator accepts is one the form check can enforce.
"""

from __future__ import annotations

import re
from datetime import date

from workflows.errors import Problem
from workflows.parsing import BPMN_NS, NSMAP
from workflows.sandbox import SandboxViolation, check_source

# What a camunda:formField may declare (tasks/forms.py enforces them when a task is completed).
FORM_FIELD_TYPES = ("string", "text", "boolean", "enum", "date", "long")
FORM_FIELD_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
FORM_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
# constraint name -> field types it applies to (None: every type)
FORM_CONSTRAINTS: dict[str, tuple[str, ...] | None] = dict(
    required=None, required_if=None, refused_if=None, equals=None, min=("long",), max=("long",),
    minlength=("string", "text"), maxlength=("string", "text"),
)  # fmt: skip


def form_constraint_value(field_type: str, name: str, config: str | None, options=()):
    """The typed value of a form-field constraint's ``config`` (``required_if``: its source,
    a sandboxed condition); ``ValueError``/``SyntaxError``/``SandboxViolation`` if it is not one."""
    allowed = FORM_CONSTRAINTS.get(name, ())
    if allowed == ():
        raise ValueError(f"unknown constraint {name!r} (known: {', '.join(FORM_CONSTRAINTS)})")
    if allowed is not None and field_type not in allowed:
        raise ValueError(f"constraint {name!r} applies to {' and '.join(allowed)} fields only")
    config = (config or "").strip()
    if name == "required":
        if config not in ("true", "false"):
            raise ValueError("constraint 'required' takes config true or false")
        return config == "true"
    if name in ("required_if", "refused_if"):
        check_source(config, "eval")  # SyntaxError or SandboxViolation
        return config
    if name in ("min", "max", "minlength", "maxlength") or (
        name == "equals" and field_type == "long"
    ):
        if not re.fullmatch(r"-?[0-9]{1,19}", config) or not LONG_MIN <= int(config) <= LONG_MAX:
            raise ValueError(f"constraint {name!r} needs a whole number, not {config!r}")
        if name.endswith("length") and int(config) < 0:
            raise ValueError(f"constraint {name!r} cannot be negative")
        return int(config)
    if field_type == "boolean":
        if config not in ("true", "false"):
            raise ValueError("constraint 'equals' on a boolean field takes true or false")
        return config == "true"
    if field_type == "enum" and config not in options:
        raise ValueError(f"constraint 'equals' names {config!r}, which is not an option")
    if field_type == "date":
        if not FORM_DATE.fullmatch(config):
            raise ValueError("constraint 'equals' on a date field takes YYYY-MM-DD")
        date.fromisoformat(config)
    return config


def check_form_field(field) -> list[Problem]:
    """Form fields are placed on their user task (the shape the modeller can find)."""
    bpmn = (a for a in field.iterancestors() if a.tag.startswith(f"{{{BPMN_NS}}}") and a.get("id"))
    task_id, field_id = next(bpmn, field).get("id"), field.get("id") or ""
    problems = []

    def problem(element, message: str) -> None:
        problems.append(Problem(task_id, element.sourceline, f"form field {field_id!r}: {message}"))

    if not FORM_FIELD_ID.fullmatch(field_id):
        problem(field, "the id must be a letter followed by letters, digits or underscores")
    field_type = field.get("type")
    if field_type not in FORM_FIELD_TYPES:
        problem(field, f"type {field_type!r} is not one of {', '.join(FORM_FIELD_TYPES)}")
        return problems
    options = [v.get("id") for v in field.xpath("camunda:value", namespaces=NSMAP)]
    if field_type == "enum" and not options:
        problem(field, "an enum field needs at least one camunda:value")
    for constraint in field.xpath("camunda:validation/camunda:constraint", namespaces=NSMAP):
        name = constraint.get("name") or ""
        try:
            form_constraint_value(field_type, name, constraint.get("config"), options)
        except SyntaxError as err:
            problem(constraint, f"the {name} condition does not compile ({err.msg})")
        except SandboxViolation as err:
            problem(constraint, f"the {name} condition is not allowed: {err}")
        except ValueError as err:
            problem(constraint, str(err))
    return problems
