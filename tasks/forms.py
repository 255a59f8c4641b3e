"""The form of a user task, as declared in the diagram, and checking the answers given to it.

Pure functions: no database, no Flask. ``form_of`` reads what the parser stored on the task spec
(``camunda:formData``); ``validate`` checks a completion's ``data`` against it and returns the
cleaned data or every problem, each naming its field; ``form_json`` is the API's form shape.

Every rule comes from the diagram (README, "Diagram conventions"): ``required``, ``equals``
(e.g. a confirmation that must be true), ``min``/``max``, ``minlength``/``maxlength`` and
``required_if``, a sandboxed condition over the instance data and the form's own answers;
``refused_if``, the same kind of condition, which refuses an answer the path does not allow (an
adviser's "do not share" on a safeguarding share): the answer is seen under the field's own id,
and the field's ``refused_message`` property says why.

Strict by design: unknown fields are refused, a boolean must be a JSON boolean (``"true"`` is not
one, nor is ``1``), a long a JSON integer within 64 bits (``3.0`` is not one), a date a real
``YYYY-MM-DD``, an enum one of the option ids. ``null``, an empty string and a string of spaces
mean "not answered". The cleaned data holds every field of the form, ``None`` for those not
answered, so a step done again (a loop) never keeps a stale answer and later conditions can read
an optional field; the cleaned data validates again to itself.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from workflows.form_rules import (
    FORM_DATE,
    FORM_FIELD_TYPES,
    LONG_MAX,
    LONG_MIN,
    form_constraint_value,
)
from workflows.sandbox import SAFE_BUILTINS, check_source, make_script_engine

MAX_STRING = 1_000  # characters of a one-line answer
MAX_TEXT = 20_000  # characters of a free-text answer
MAX_NAME_SHOWN = 100
# C0 controls other than tab, newline and carriage return (PostgreSQL cannot store NUL).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One field of a task's form, with every rule the diagram declares for it."""

    id: str
    label: str
    type: str  # one of FORM_FIELD_TYPES
    required: bool = False
    options: tuple[Option, ...] | None = None  # enum fields only
    help: str | None = None  # camunda:property id="help"
    equals: Any = None  # the only value accepted (e.g. True for a confirmation)
    min: int | None = None
    max: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    required_if: str | None = None  # a sandboxed condition's source
    refused_if: str | None = None  # ditto: a true result refuses the answer
    refused_message: str | None = None
    # camunda:property id="visibility" value="step": only the parties of the steps whose forms
    # carry this field see its answer (tasks/visibility.py, docs/security.md).
    step_only: bool = False

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(option.id for option in self.options or ())

    def constraints(self) -> dict[str, Any]:
        """The declared constraints beyond ``required``, under their diagram names."""
        pairs = [
            ("equals", self.equals),
            ("min", self.min),
            ("max", self.max),
            ("minlength", self.min_length),
            ("maxlength", self.max_length),
            ("required_if", self.required_if),
            ("refused_if", self.refused_if),
        ]
        return {name: value for name, value in pairs if value is not None}


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field's answer; ``field`` is None when the whole body is wrong."""

    field: str | None
    message: str

    def to_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


_ATTRIBUTES = {
    "required": "required",
    "equals": "equals",
    "min": "min",
    "max": "max",
    "minlength": "min_length",
    "maxlength": "max_length",
    "required_if": "required_if",
    "refused_if": "refused_if",
}


def form_of(task_spec) -> list[FormField]:
    """The form the diagram declares on ``task_spec`` (``[]`` for a task without one).

    Diagrams are checked when deployed (``workflows.validation``), so a declaration that does not
    hold raises ``ValueError`` here rather than being guessed at.
    """
    form = getattr(task_spec, "form", None)
    fields = []
    for spec_field in getattr(form, "fields", None) or []:
        field_type = spec_field.type or "string"
        if field_type not in FORM_FIELD_TYPES:
            raise ValueError(f"form field {spec_field.id!r} has unknown type {field_type!r}")
        options = None
        if field_type == "enum":
            options = tuple(Option(o.id, o.name or o.id) for o in spec_field.options)
        option_ids = [o.id for o in options or ()]
        rules: dict[str, Any] = {}
        for rule in spec_field.validation:
            value = form_constraint_value(field_type, rule.name, rule.config, option_ids)
            rules[_ATTRIBUTES[rule.name]] = value
        fields.append(
            FormField(
                id=spec_field.id,
                label=spec_field.label or spec_field.id,
                type=field_type,
                options=options,
                help=spec_field.get_property("help"),
                refused_message=spec_field.get_property("refused_message"),
                step_only=spec_field.get_property("visibility") == "step",
                **rules,
            )
        )
    return fields


def form_json(fields: list[FormField]) -> list[dict]:
    """The API's form: ``[{id, label, type, required, options?, help?, constraints?}]``."""
    result = []
    for item in fields:
        entry: dict[str, Any] = {
            "id": item.id,
            "label": item.label,
            "type": item.type,
            "required": item.required,
        }
        if item.options is not None:
            entry["options"] = [{"id": o.id, "label": o.label} for o in item.options]
        if item.help:
            entry["help"] = item.help
        if item.constraints():
            entry["constraints"] = item.constraints()
        result.append(entry)
    return result


def validate(
    fields: list[FormField], data: Mapping, context: Mapping | None = None
) -> tuple[dict, list[FieldProblem]]:
    """Check ``data`` against ``fields``; return ``(cleaned, problems)``.

    ``context`` is the instance data that ``required_if`` conditions may read besides the form's
    own answers. When ``problems`` is not empty, ``cleaned`` must not be used. Never raises.
    """
    if not isinstance(data, Mapping):
        return {}, [FieldProblem(None, "Send an object whose keys are the form's field ids")]
    known = {item.id for item in fields}
    problems = [
        FieldProblem(_shown(key), "This field is not on the form")
        for key in data
        if not isinstance(key, str) or key not in known
    ]
    cleaned: dict[str, Any] = {}
    bad: set[str] = set()
    for item in fields:
        value = data.get(item.id)
        if _is_blank(value):
            cleaned[item.id] = None
            if item.required:
                problems.append(FieldProblem(item.id, "This field is required"))
            continue
        value, message = _clean(item, value)
        if message is None:
            message = _check_rules(item, value)
        if message is not None:
            problems.append(FieldProblem(item.id, message))
            bad.add(item.id)
            value = None
        cleaned[item.id] = value
    for item in fields:
        if (
            item.required_if
            and not item.required
            and cleaned[item.id] is None
            and item.id not in bad
        ):
            message = _required_by_condition(item.required_if, cleaned, context or {})
            if message is not None:
                problems.append(FieldProblem(item.id, message))
    for item in fields:
        if item.refused_if and cleaned[item.id] is not None:
            message = _refused_by_condition(item, cleaned, context or {})
            if message is not None:
                problems.append(FieldProblem(item.id, message))
    order = {item.id: index for index, item in enumerate(fields)}
    problems.sort(key=lambda p: order.get(p.field, len(order)) if p.field else -1)
    return cleaned, problems


def _shown(key: Any) -> str:
    text = key if isinstance(key, str) else repr(key)
    return text if len(text) <= MAX_NAME_SHOWN else text[:MAX_NAME_SHOWN] + "…"


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(item: FormField, value: Any) -> tuple[Any, str | None]:
    """The typed value, or the message saying why it is not one."""
    if item.type == "boolean":
        if isinstance(value, bool):
            return value, None
        return None, "Enter true or false"
    if item.type == "long":
        if isinstance(value, int) and not isinstance(value, bool):
            if LONG_MIN <= value <= LONG_MAX:
                return value, None
            return None, "Enter a smaller whole number"
        return None, "Enter a whole number"
    if not isinstance(value, str):
        expected = {
            "enum": "Choose one of: " + ", ".join(item.option_ids),
            "date": "Enter a date as YYYY-MM-DD",
        }
        return None, expected.get(item.type, "Enter text")
    if item.type == "enum":
        if value in item.option_ids:
            return value, None
        return None, "Choose one of: " + ", ".join(item.option_ids)
    if item.type == "date":
        if not FORM_DATE.fullmatch(value):
            return None, "Enter a date as YYYY-MM-DD"
        try:
            date.fromisoformat(value)
        except ValueError:
            return None, f"Enter a real date as YYYY-MM-DD ({value} does not exist)"
        return value, None
    limit = MAX_TEXT if item.type == "text" else MAX_STRING
    if len(value) > limit:
        return None, f"Enter at most {limit} characters"
    if CONTROL.search(value) or (item.type == "string" and ("\n" in value or "\r" in value)):
        breaks = " and line breaks" if item.type == "string" else ""
        return None, f"Remove control characters{breaks}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None, "Remove characters that are not valid Unicode text"
    return value, None


def _check_rules(item: FormField, value: Any) -> str | None:
    if item.equals is not None and value != item.equals:
        if isinstance(item.equals, bool):
            return "Must be confirmed (true)" if item.equals else "Must be false"
        return f"Must be {item.equals}"
    if item.min is not None and value < item.min:
        return f"Enter {item.min} or more"
    if item.max is not None and value > item.max:
        return f"Enter {item.max} or less"
    if item.min_length is not None and len(value) < item.min_length:
        return f"Enter at least {item.min_length} characters"
    if item.max_length is not None and len(value) > item.max_length:
        return f"Enter at most {item.max_length} characters"
    return None


_ENVIRONMENT = make_script_engine().environment


@lru_cache(maxsize=1024)
def _free_names(source: str) -> frozenset[str]:
    tree = check_source(source.strip(), "eval")
    return frozenset(
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    )


def condition_holds(source: str, data: Mapping) -> bool:
    """A diagram's condition over ``data`` in the sandbox, an absent name reading as ``None``;
    raises whatever the condition raises (the caller decides which side is safe)."""
    return _condition(source, {}, data)


def _condition(source: str, cleaned: Mapping, context: Mapping) -> bool:
    """Run a form condition in the diagram sandbox over the instance data overlaid with the
    form's answers; a name neither holds reads as ``None`` (an unanswered question)."""
    names = {**context, **cleaned}
    for name in _free_names(source):
        if name not in names and name not in SAFE_BUILTINS and name not in _ENVIRONMENT.globals:
            names[name] = None
    return bool(_ENVIRONMENT.evaluate(source, names))


def _required_by_condition(source: str, cleaned: Mapping, context: Mapping) -> str | None:
    """``required_if``: the message when the condition holds and the field is blank."""
    try:
        required = _condition(source, cleaned, context)
    except Exception as err:  # a diagram's rule that fails must not let the answer through
        return f"This field's rule could not be checked ({err.__class__.__name__}: {err})"
    return "This field is required" if required else None


def _refused_by_condition(item: FormField, cleaned: Mapping, context: Mapping) -> str | None:
    """``refused_if``: the message when the condition holds for the answer given."""
    try:
        refused = _condition(item.refused_if or "False", cleaned, context)
    except Exception as err:  # a diagram's rule that fails must not let the answer through
        return f"This field's rule could not be checked ({err.__class__.__name__}: {err})"
    if not refused:
        return None
    return item.refused_message or "This answer is not allowed at this step"


__all__ = ["FieldProblem", "FormField", "Option", "form_json", "form_of", "validate"]
