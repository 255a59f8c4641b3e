"""Two limits a diagram sets on who sees what (docs/security.md).

**Advice without identity.** A user task with
``<camunda:property name="withhold_identity_when" value="<condition>"/>`` and
``<camunda:property name="shows" value="field1,field2"/>``: when the condition holds as the task
opens, the task row is marked ``identity_withheld``. Need-to-know (``tasks/parties.py``) then
skips the task - holding, claiming or completing it makes nobody a party - and its views show
only the ``shows`` variables and the form, never the business key or the case. The condition runs
in the diagram sandbox; a name the data lacks reads as ``None``, and a condition that fails
withholds: the safe side is the one that tells the adviser less.

**Details only a step's parties see.** A form field marked
``<camunda:property id="visibility" value="step"/>`` (a CSE partner's name, age and link) is
shown only in the task views of the steps whose forms carry that field. The value stays in the
instance's data (a script may pass it on to the process it hands over to), but every other
output leaves it out: the instance's variables, other steps' task views and answers so far, and
the register (:func:`strip_entry`). History, audit events and notifications carry no answers at
all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ProcessDefinition
from tasks.forms import condition_holds, form_of
from tasks.summary import shown as summary_shown

log = logging.getLogger(__name__)

WITHHOLD = "withhold_identity_when"
SHOWS = "shows"
STEP = "step"
_STEP_FIELDS = (
    "//camunda:formField[camunda:properties/camunda:property"
    "[@id='visibility' and @value='step']]/@id"
)
_NS = {"camunda": "http://camunda.org/schema/1.0/bpmn"}


def withhold_condition(task_spec: Any) -> str | None:
    """The task's ``withhold_identity_when`` source, or None."""
    value = (getattr(task_spec, "extensions", None) or {}).get(WITHHOLD)
    return value.strip() if isinstance(value, str) and value.strip() else None


def shows(task_spec: Any) -> tuple[str, ...]:
    """The variables an adviser of a withheld task sees (``shows``), in the diagram's order."""
    value = (getattr(task_spec, "extensions", None) or {}).get(SHOWS) or ""
    return tuple(name.strip() for name in value.split(",") if name.strip())


def identity_withheld(spiff_task: Any) -> bool:
    """Whether the task withholds the child's identity, decided once, as it opens."""
    source = withhold_condition(spiff_task.task_spec)
    if source is None:
        return False
    try:
        return bool(condition_holds(source, spiff_task.data))
    except Exception as err:  # a diagram's condition that fails must not reveal the child
        log.warning(
            "withhold_identity_when of %s failed (%s): identity withheld",
            spiff_task.task_spec.bpmn_id,
            err.__class__.__name__,
        )
        return True


def with_withholding(
    policy: Callable[[Any, datetime], Mapping[str, Any]],
) -> Callable[[Any, datetime], Mapping[str, Any]]:
    """The engine's task policy, plus the ``identity_withheld`` column of the row it fills."""

    def wrapped(spiff_task: Any, now: datetime) -> Mapping[str, Any]:
        return {**policy(spiff_task, now), "identity_withheld": identity_withheld(spiff_task)}

    return wrapped


def withheld_data(spec: Any, task_spec: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """What the adviser of a withheld task sees of the instance: the ``shows`` variables and
    the task's own form fields (answers already given to it), nothing else - and no text of a
    step-only detail, should a script have copied one into them."""
    names = [*shows(task_spec), *(item.id for item in form_of(task_spec))]
    picked = {name: data.get(name) for name in dict.fromkeys(names)}
    secrets = _secrets(data, hidden_at(spec, task_spec))
    return {name: _scrubbed(value, secrets) for name, value in picked.items()}


def labelled(spec: Any, names: Iterable[str], data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``names`` with their answers in ``data``, each under the label of the form that asked it
    (the name itself when no form did): what the adviser of a withheld task reads."""
    fields: dict[str, Any] = {}
    start_form = getattr(getattr(spec, "start_form", None), "fields", None) or ()
    for task_spec in getattr(spec, "task_specs", {}).values():
        try:
            for item in form_of(task_spec):
                fields.setdefault(item.id, item)
        except ValueError:
            continue
    shown = []
    for name in names:
        value = data.get(name)
        if value is None or value == "":
            continue
        item = fields.get(name)
        if item is not None:
            shown.append((item.label, summary_shown(item, value)))
        else:
            label = next((f.label for f in start_form if f.id == name and f.label), name)
            shown.append((label, str(value)))
    return shown


def step_only_names(spec: Any) -> frozenset[str]:
    """Every form field of the process marked ``visibility=step``. Cached on the parsed spec,
    which never changes for a deployed version."""
    cached = getattr(spec, "_step_only_names", None)
    if cached is not None:
        return cached
    names = set()
    for task_spec in getattr(spec, "task_specs", {}).values():
        names |= own_step_fields(task_spec)
    for spec_field in getattr(getattr(spec, "start_form", None), "fields", None) or ():
        if spec_field.get_property("visibility") == STEP:
            names.add(spec_field.id)
    found = frozenset(names)
    spec._step_only_names = found
    return found


def own_step_fields(task_spec: Any) -> frozenset[str]:
    """The step-only fields on this task's own form: its parties may see them."""
    try:
        return frozenset(item.id for item in form_of(task_spec) if item.step_only)
    except ValueError:
        return frozenset()


def hidden_at(spec: Any, task_spec: Any | None) -> frozenset[str]:
    """Step-only names a view of ``task_spec`` (None: any view that is no task's) leaves out."""
    mine = own_step_fields(task_spec) if task_spec is not None else frozenset()
    return step_only_names(spec) - mine


NOTE = "(details given at another step, seen only by its parties)"


def without(data: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``data`` less ``names``, and with any text that copies one of their values (a script
    that wrote ``reasons = 'CSE: ' + partner_details``) replaced by :data:`NOTE`, however deep
    in a dict or list it sits."""
    hidden = set(names)
    secrets = _secrets(data, hidden)
    return {key: _scrubbed(value, secrets) for key, value in data.items() if key not in hidden}


def _secrets(data: Mapping[str, Any], names: Iterable[str]) -> frozenset[str]:
    """The texts of step-only answers that a copy must not carry. Texts only, of three
    characters or more: a number or a letter would blot out unrelated text everywhere."""
    found = (data.get(name) for name in names)
    return frozenset(v for v in found if isinstance(v, str) and len(v.strip()) >= 3)


def _scrubbed(value: Any, secrets: frozenset[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        return NOTE if any(secret in value for secret in secrets) else value
    if isinstance(value, Mapping):
        return {key: _scrubbed(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, secrets) for item in value]
    return value


_BY_DEFINITION: dict[str, frozenset[str]] = {}
_LOCK = threading.Lock()


def step_only_of_definition(session: Session, definition_id: str) -> frozenset[str]:
    """:func:`step_only_names` read off a stored version's XML (for code that has no parsed
    spec at hand, such as the register). A version never changes, so it is read once."""
    found = _BY_DEFINITION.get(definition_id)
    if found is not None:
        return found
    xml = session.scalar(select(ProcessDefinition.xml).where(ProcessDefinition.id == definition_id))
    names: frozenset[str] = frozenset()
    if xml:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(xml.encode("utf-8"), parser=parser)
        names = frozenset(str(name) for name in root.xpath(_STEP_FIELDS, namespaces=_NS))
    with _LOCK:
        if len(_BY_DEFINITION) > 10_000:
            _BY_DEFINITION.clear()
        _BY_DEFINITION[definition_id] = names
    return names


def strip_entry(entry: Mapping[str, Any], data: Mapping[str, Any], names: frozenset[str]):
    """A register entry without step-only details (``names``, whose values ``data`` holds):
    no key named for one, and no text that copies one (:func:`without`)."""
    secrets = _secrets(data, names)
    return {key: _scrubbed(value, secrets) for key, value in entry.items() if key not in names}
