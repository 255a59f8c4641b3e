"""What other modellers write, read or explained: Camunda 8, Flowable, Activiti, SpiffWorkflow.

Process owners bring diagrams drawn elsewhere. Their expressions are Java EL (``${approved}``)
or FEEL (``=amount > 1000``), where conditions here are Python; their forms may be Flowable
``formProperty`` lists, where the service reads Camunda 7 ``formData``. This module says which
dialect a piece of text is in, shows the Python form where the translation is plain, and turns
Flowable/Activiti form properties into the Camunda form fields every other part of the service
reads, so that a diagram is either understood or refused with a reason, never misread.
"""

from __future__ import annotations

import ast
import re

from lxml import etree

from workflows.errors import Problem, element_id_of
from workflows.parsing import BPMN_NS, CAMUNDA_NS

ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
FLOWABLE_NS = "http://flowable.org/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# Prefixes for messages: an author reads ``bpmn:task``, not a namespace URI.
PREFIXES = {
    BPMN_NS: "bpmn",
    CAMUNDA_NS: "camunda",
    ZEEBE_NS: "zeebe",
    FLOWABLE_NS: "flowable",
    ACTIVITI_NS: "activiti",
    SPIFF_NS: "spiffworkflow",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
}
DIALECTS = {ZEEBE_NS: "Camunda 8", FLOWABLE_NS: "Flowable", ACTIVITI_NS: "Activiti"}
FORM_PROPERTY_NAMESPACES = (FLOWABLE_NS, ACTIVITI_NS)
# The attributes of a Flowable/Activiti form property that mean the same as a Camunda field's.
FORM_PROPERTY_READ = {"id", "name", "type", "default", "required", "datePattern"}

_JUEL = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.DOTALL)
_FEEL = re.compile(r"^\s*=(?!=)(?P<body>.*)$", re.DOTALL)
_QUOTED = re.compile(r"(\"[^\"]*\"|'[^']*')")
_WORDS = {"true": "True", "false": "False", "null": "None"}
_JUEL_OPERATORS = [
    (r"&&", " and "),
    (r"\|\|", " or "),
    (r"!(?!=)", " not "),
    (r"\beq\b", "=="),
    (r"\bne\b", "!="),
    (r"\bgt\b", ">"),
    (r"\bge\b", ">="),
    (r"\blt\b", "<"),
    (r"\ble\b", "<="),
    (r"\bempty\b", " not "),
]


def short_names(text: str) -> str:
    """``{http://…/MODEL}task`` as ``bpmn:task``: messages quote names, not namespace URIs."""

    def prefixed(found: re.Match) -> str:
        prefix = PREFIXES.get(found.group(1))
        return f"{prefix}:" if prefix else ""

    return re.sub(r"\{([^{}\s]+)\}", prefixed, text)


def _outside_strings(text: str, change) -> str:
    parts = _QUOTED.split(text)
    return "".join(part if i % 2 else change(part) for i, part in enumerate(parts))


def _words(part: str) -> str:
    return re.sub(r"\b(true|false|null)\b", lambda m: _WORDS[m.group(1)], part)


def _from_juel(body: str) -> str:
    def change(part: str) -> str:
        for pattern, python in _JUEL_OPERATORS:
            part = re.sub(pattern, python, part)
        return _words(part)

    return " ".join(_outside_strings(body, change).split())


def _from_feel(body: str) -> str:
    def change(part: str) -> str:
        part = re.sub(r"(?<![<>!=])=(?!=)", "==", part)
        return _words(part)

    return " ".join(_outside_strings(body, change).split())


def foreign_dialect(source: str) -> tuple[str, str | None] | None:
    """``(dialect, its Python form)`` when ``source`` is Java EL or FEEL, else None.

    The Python form is given only where the translation is plain: names, numbers, strings,
    comparisons and ``and``/``or``/``not`` (``${approved}``, ``${amount > 1000}``); a method
    call such as ``${execution.getVariable('x')}`` has no Python form to suggest.
    """
    juel = _JUEL.match(source or "")
    if juel:
        python = _from_juel(juel.group("body"))
        return "a Camunda 7 or Flowable expression (${…})", python if _plain(python) else None
    feel = _FEEL.match(source or "")
    if feel:
        python = _from_feel(feel.group("body"))
        return "a Camunda 8 FEEL expression (=…)", python if _plain(python) else None
    return None


_PLAIN_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp,
    ast.BinOp, ast.cmpop, ast.boolop, ast.unaryop, ast.operator,
)  # fmt: skip


def _plain(python: str) -> bool:
    try:
        tree = ast.parse(python, mode="eval")
    except SyntaxError:
        return False
    return all(isinstance(node, _PLAIN_NODES) for node in ast.walk(tree))


def form_properties_as_camunda(root) -> list[Problem]:
    """Give each task or start event with Flowable/Activiti ``formProperty`` elements, and no
    ``camunda:formData``, the same fields as ``camunda:formField`` elements, in place.

    Called before the checks and before every parse of a stored diagram, so the form checks,
    the conventions and the engine read one kind of form. The new elements carry the line of
    the property they come from. Returns the attributes that mean something the service does
    not do (an expression, a variable of another name, a read-only field), one problem each.
    """
    problems = []
    for owner in root.iter(etree.Element):
        extensions = owner.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is None or extensions.find(f"{{{CAMUNDA_NS}}}formData") is not None:
            continue
        properties = [
            child
            for child in extensions
            if isinstance(child.tag, str)
            and child.tag in {f"{{{ns}}}formProperty" for ns in FORM_PROPERTY_NAMESPACES}
        ]
        if not properties:
            continue
        form = etree.SubElement(extensions, f"{{{CAMUNDA_NS}}}formData")
        form.sourceline = properties[0].sourceline
        for prop in properties:
            problems += _unread_attributes(owner, prop)
            _as_field(form, prop)
    return problems


def _as_field(form, prop) -> None:
    field = etree.SubElement(form, f"{{{CAMUNDA_NS}}}formField")
    field.sourceline = prop.sourceline
    for source, target in (("id", "id"), ("name", "label"), ("type", "type")):
        if prop.get(source) is not None:
            field.set(target, prop.get(source))
    if not prop.get("type"):
        field.set("type", "string")  # Flowable's default type
    if prop.get("default") is not None:
        field.set("defaultValue", prop.get("default"))
    if (prop.get("required") or "").strip().lower() == "true":
        validation = etree.SubElement(field, f"{{{CAMUNDA_NS}}}validation")
        constraint = etree.SubElement(validation, f"{{{CAMUNDA_NS}}}constraint")
        constraint.set("name", "required")
        constraint.set("config", "true")
    for value in prop:
        if isinstance(value.tag, str) and value.tag.endswith("}value"):
            option = etree.SubElement(field, f"{{{CAMUNDA_NS}}}value")
            option.sourceline = value.sourceline
            option.set("id", value.get("id") or "")
            option.set("name", value.get("name") or value.get("id") or "")


def _unread_attributes(owner, prop) -> list[Problem]:
    prefix = PREFIXES[etree.QName(prop).namespace]
    name = prop.get("id") or ""
    problems = []
    for attribute, value in prop.attrib.items():
        if attribute in FORM_PROPERTY_READ:
            continue
        if attribute == "variable" and value == name:
            continue
        if attribute in ("readable", "writable") and value.strip().lower() == "true":
            continue
        problems.append(
            Problem(
                element_id_of(owner),
                prop.sourceline,
                f"{prefix}:formProperty {name!r}: {attribute}={value!r} is not read here "
                "(the form property is read as a camunda:formField: a field named by its id, "
                "filled in by the person doing the task); remove it",
            )
        )
    return problems
