"""What changed between two versions of a diagram, element by element, in plain words.

A line diff of the XML is unreadable: bpmn-js rewrites the layout and the attribute order when
it saves, so two real changes showed as hundreds of lines. Here both versions are parsed and
their elements compared by id, on what the engine runs: steps (added, removed, renamed), who
does them (candidate groups, lane), due times, form fields, conditions, timers and scripts.
Layout is not compared. The modeller's diff page and ``GET .../diff`` show this one list.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from lxml import etree
from sqlalchemy.orm import Session

from storage.models import ProcessDefinition
from workflows import definitions
from workflows.dialects import form_properties_as_camunda
from workflows.parsing import BPMN_NS, CAMUNDA_NS, parse_xml
from workflows.structure import FLOW_NODE_TAGS

FLOW = f"{{{BPMN_NS}}}sequenceFlow"
TIMER_PARTS = ("timeDuration", "timeDate", "timeCycle")
# What each compared aspect is called in the sentences, in the order they are listed.
ASPECTS = {
    "lane": "lane",
    "roles": "candidate groups",
    "due": "due time",
    "timer": "timer",
    "condition": "condition",
    "script": "script",
}
FIELD_ASPECTS = ("label", "type", "rules", "options", "default", "properties")


@dataclass(frozen=True)
class Change:
    """One change: ``change`` is added, removed, renamed or changed; ``what`` names the aspect
    (step, flow, form field, due time, ...); ``text`` says it in words."""

    element_id: str
    element_name: str | None
    change: str
    what: str
    text: str
    field: str | None = None
    before: str | None = None
    after: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def diff(old_xml: str | bytes, new_xml: str | bytes) -> list[Change]:
    """The changes from ``old_xml`` to ``new_xml`` (two stored, valid versions)."""
    old, new = _elements(old_xml), _elements(new_xml)
    changes: list[Change] = []
    for element_id, after in new.items():
        before = old.get(element_id)
        if before is None:
            changes.append(_whole(after, "added", new))
        else:
            changes += _compared(before, after, old, new)
    changes += [_whole(before, "removed", old) for i, before in old.items() if i not in new]
    return changes


def _text(node) -> str | None:
    if node is None:
        return None
    return (node.text or "").strip() or None


def _elements(xml: str | bytes) -> dict[str, dict]:
    """The compared facts of every flow node and sequence flow, by id, in document order."""
    root = parse_xml(xml.encode("utf-8") if isinstance(xml, str) else xml).getroot()
    form_properties_as_camunda(root)  # read as the engine reads it
    lanes = {
        _text(ref): lane.get("name") or lane.get("id")
        for lane in root.iter(f"{{{BPMN_NS}}}lane")
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef")
    }
    found: dict[str, dict] = {}
    for element in root.iter(etree.Element):
        if element.tag not in FLOW_NODE_TAGS and element.tag != FLOW:
            continue
        element_id = element.get("id")
        if not element_id:
            continue
        facts = {
            "id": element_id,
            "kind": _kind(element),
            "name": (element.get("name") or "").strip() or None,
            "lane": lanes.get(element_id),
            "roles": element.get(f"{{{CAMUNDA_NS}}}candidateGroups"),
            "due": element.get(f"{{{CAMUNDA_NS}}}dueDate"),
            "timer": _timer(element),
            "script": _text(element.find(f"{{{BPMN_NS}}}script")),
            "condition": _text(element.find(f"{{{BPMN_NS}}}conditionExpression")),
            "source": element.get("sourceRef"),
            "target": element.get("targetRef"),
            "fields": _fields(element),
        }
        found[element_id] = facts
    return found


def _kind(element) -> str:
    if element.tag == FLOW:
        return "flow"
    name = etree.QName(element).localname
    if name in ("userTask", "manualTask", "task"):
        return "step"
    if element.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None:
        return "timer event"
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def _timer(element) -> str | None:
    definition = element.find(f"{{{BPMN_NS}}}timerEventDefinition")
    if definition is None:
        return None
    parts = [
        f"{part} {_text(definition.find(f'{{{BPMN_NS}}}{part}'))}"
        for part in TIMER_PARTS
        if _text(definition.find(f"{{{BPMN_NS}}}{part}"))
    ]
    return "; ".join(parts) or None


def _fields(element) -> dict[str, dict]:
    """The form fields of a step, by id: each compared aspect as one string."""
    fields = {}
    c = f"{{{CAMUNDA_NS}}}"
    for field in element.iterfind(f"{{{BPMN_NS}}}extensionElements/{c}formData/{c}formField"):
        rules = [
            f"{k.get('name')}={k.get('config')}" if k.get("config") else (k.get("name") or "")
            for k in field.iterfind(f"{c}validation/{c}constraint")
        ]
        options = [f"{v.get('id')}={v.get('name')}" for v in field.iterfind(f"{c}value")]
        properties = [
            f"{p.get('id') or p.get('name')}={p.get('value')}"
            for p in field.iterfind(f"{c}properties/{c}property")
        ]
        fields[field.get("id") or ""] = {
            "label": field.get("label"),
            "type": field.get("type"),
            "rules": "; ".join(rules) or None,
            "options": ", ".join(options) or None,
            "default": field.get("defaultValue"),
            "properties": "; ".join(properties) or None,
        }
    return fields


def _called(facts: dict, elements: dict[str, dict]) -> str:
    """An element as a reader knows it: a step by its name, a flow by the steps it joins."""
    if facts["kind"] == "flow":
        ends = [elements.get(facts[end] or "", {}) for end in ("source", "target")]
        source, target = (e.get("name") or e.get("id") or "?" for e in ends)
        named = f' "{facts["name"]}"' if facts["name"] else ""
        return f'the flow{named} from "{source}" to "{target}"'
    return f'{facts["kind"]} "{facts["name"] or facts["id"]}"'


def _change(facts, change, what, text, **values) -> Change:
    return Change(facts["id"], facts["name"], change, what, text, **values)


def _whole(facts: dict, change: str, elements: dict[str, dict]) -> Change:
    called = _called(facts, elements)
    return _change(facts, change, facts["kind"], f"{called[0].upper()}{called[1:]} {change}")


def _compared(before: dict, after: dict, old: dict, new: dict) -> list[Change]:
    called = _called(after, new)
    changes = []
    if before["name"] != after["name"] and after["kind"] != "flow":
        text = f'{before["kind"].capitalize()} "{before["name"] or before["id"]}" renamed to '
        text += f'"{after["name"] or after["id"]}"'
        changes.append(
            _change(after, "renamed", "name", text, before=before["name"], after=after["name"])
        )
    for aspect, words in ASPECTS.items():
        if before[aspect] != after[aspect]:
            text = f"The {words} of {called}: {_was(before[aspect], after[aspect])}"
            changes.append(
                _change(after, "changed", words, text, before=before[aspect], after=after[aspect])
            )
    return changes + _field_changes(before, after, called)


def _was(before: str | None, after: str | None) -> str:
    if before is None:
        return f'set to "{after}"'
    if after is None:
        return f'"{before}" removed'
    return f'"{before}" changed to "{after}"'


def _field_changes(before: dict, after: dict, called: str) -> list[Change]:
    changes = []
    old_fields, new_fields = before["fields"], after["fields"]
    for field_id, field in new_fields.items():
        label = field["label"] or field_id
        was = old_fields.get(field_id)
        if was is None:
            text = f'Form field "{label}" ({field_id}) added to {called}'
            changes.append(_change(after, "added", "form field", text, field=field_id))
            continue
        for aspect in FIELD_ASPECTS:
            if was[aspect] != field[aspect]:
                text = f'Form field "{label}" of {called}, {aspect}: '
                text += _was(was[aspect], field[aspect])
                values = {"before": was[aspect], "after": field[aspect]}
                changes.append(
                    _change(after, "changed", "form field", text, field=field_id, **values)
                )
    for field_id, field in old_fields.items():
        if field_id not in new_fields:
            text = f'Form field "{field["label"] or field_id}" ({field_id}) removed from {called}'
            changes.append(_change(after, "removed", "form field", text, field=field_id))
    return changes


@dataclass
class Comparison:
    """Two versions of one process and the changes from ``old`` to ``new``."""

    old: ProcessDefinition
    new: ProcessDefinition
    numbers: list[int]
    changes: list[Change]


def compare(session: Session, key: str, since: int | None, to: int | None) -> Comparison:
    """Version ``since`` against version ``to`` of ``key``: by default the latest against the
    version before it. :class:`~workflows.errors.NotFound` for a version that does not exist."""
    numbers = [row.version for row in definitions.list_versions(session, key)]
    to = to or numbers[-1]
    older = [n for n in numbers if n < to]
    since = since or (older[-1] if older else to)
    old = definitions.find(session, key, since)
    new = definitions.find(session, key, to)
    return Comparison(old, new, numbers, [] if since == to else diff(old.xml, new.xml))
