"""What a caller may put into a process: start inputs and external messages (issue 14).

A process's data holds two kinds of values: what people answer, and what the service or the
diagram's own scripts work out (who started it, the consent on record, the entry a script leaves
for the sharing or consent register). A caller who could set the second kind could give a task
back to someone else, claim a consent the register does not hold, or plant a register entry.
So the outside gets exactly what the diagram declares for it:

- at a start, the fields of the start event's form (``camunda:formData`` on the
  ``bpmn:startEvent``), checked by the same strict validation as a task's answers
  (:func:`tasks.forms.validate`); a diagram without a start form takes no variables;
- as a message, only a ``bpmn:message`` marked external (``camunda:property name="external"
  value="true"``); the rest (``consent_withdrawn`` and every hand-off) the service delivers.

The service's own paths (a hand-off starting another process with the thrown message's
payload, the consent register delivering a withdrawal) call the engine directly and are not
checked here. Pure functions over a parsed spec: no database, no Flask.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from tasks.errors import FormInvalid
from tasks.forms import FieldProblem, FormField, form_of, validate
from workflows.errors import InvalidInput

# Names the service writes into a process's data; never taken from a caller, even when a
# diagram's start form or message would declare one.
SERVICE_OWNED = frozenset({"initiator", "consent_on_record", "register_entry", "consent_entry"})


def start_form(spec: Any) -> list[FormField]:
    """The start event's form of the process ``spec`` (``[]`` when it declares none)."""
    return form_of(SimpleNamespace(form=getattr(spec, "start_form", None)))


def check_start(spec: Any, variables: Mapping[str, Any] | None) -> dict[str, Any]:
    """The cleaned start inputs of ``variables`` for ``spec``, or :class:`FormInvalid` naming
    each field (``variables.<id>``) that is not a start input or breaks the form's rules.

    A diagram without a start form takes none: ``{}`` or nothing."""
    fields = start_form(spec)
    if not fields and not variables:
        return {}
    if variables is not None and not isinstance(variables, Mapping):
        raise FormInvalid([FieldProblem("variables", "Send an object of start inputs")])
    cleaned, problems = validate(fields, variables or {})
    problems = [
        FieldProblem(
            f"variables.{p.field}" if p.field else "variables",
            "This is not a start input of this process"
            if p.message == "This field is not on the form"
            else p.message,
        )
        for p in problems
    ]
    problems += [
        FieldProblem(f"variables.{item.id}", "The service sets this value; it is not an input")
        for item in fields
        if item.id in SERVICE_OWNED
    ]
    if problems:
        raise FormInvalid(problems)
    return cleaned


def result_variable(message: str) -> str:
    """The data name a message's payload lands under (as ``Engine.deliver_message`` sets it)."""
    return re.sub(r"\W", "_", message)


def check_message(spec: Any, name: str) -> None:
    """Refuse (:class:`InvalidInput` on ``name``) a message ``spec`` does not mark external, or
    whose payload would land on a value the service owns."""
    external = getattr(spec, "external_messages", frozenset())
    if name not in external:
        raise InvalidInput(
            f"The message {name!r} is not one this process accepts from outside: "
            "the service delivers it itself, or the diagram does not mark it external",
            field="name",
        )
    if result_variable(name) in SERVICE_OWNED:
        raise InvalidInput(
            f"The message {name!r} would overwrite a value the service owns", field="name"
        )


__all__ = ["SERVICE_OWNED", "check_message", "check_start", "result_variable", "start_form"]
