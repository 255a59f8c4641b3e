"""The shipped diagrams pass the engine's validator, conventions included; a user task without a
lane, a form or a due time is refused with its id and line."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from tests.diagrams.walking import BPMN, SHIPPED
from workflows.errors import InvalidDefinition
from workflows.parsing import NSMAP
from workflows.validation import FLOW_NODE_TAGS, validate


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_diagram_validates(name: str):
    definition = validate((BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn", conventions=True)
    assert definition.key == name


def test_every_file_in_bpmn_is_covered():
    assert sorted(p.stem for p in BPMN.glob("*.bpmn")) == sorted(SHIPPED)


def _without(attribute_or_block: str, replacement: str = "") -> bytes:
    text = (BPMN / "escalation.bpmn").read_text()
    assert attribute_or_block in text
    return text.replace(attribute_or_block, replacement, 1).encode()


def _line(content: bytes, needle: str) -> int:
    return (
        content.decode()
        .splitlines()
        .index(next(line for line in content.decode().splitlines() if needle in line))
        + 1
    )


CASES = {
    "no lane": (
        _without("        <bpmn:flowNodeRef>resolve_stage4</bpmn:flowNodeRef>\n").replace(
            b'id="resolve_stage4" name="Review and decide" camunda:candidateGroups="csc_manager"',
            b'id="resolve_stage4" name="Review and decide"',
        ),
        "resolve_stage4",
        "no lane and no candidate role",
    ),
    "no form": (
        re.sub(
            rb"(<bpmn:userTask id=\"resolve_stage1\".*?)<bpmn:extensionElements>.*?"
            rb"</bpmn:extensionElements>",
            rb"\1",
            (BPMN / "escalation.bpmn").read_bytes(),
            count=1,
            flags=re.S,
        ),
        "resolve_stage1",
        "no form",
    ),
    "no due time": (
        _without(
            ' camunda:candidateGroups="dsl" camunda:dueDate="5WD"', ' camunda:candidateGroups="dsl"'
        ),
        "resolve_stage3",
        "no due time",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_user_task_missing_a_convention_is_refused(case: str):
    content, element_id, words = CASES[case]
    with pytest.raises(InvalidDefinition) as refused:
        validate(content, "escalation.bpmn", conventions=True)
    found = [p for p in refused.value.problems if p.element_id == element_id]
    assert found and words in found[0].message, refused.value.problems
    assert found[0].line == _line(content, f'<bpmn:userTask id="{element_id}"')
    validate(content, "escalation.bpmn")  # drafts without conventions still deploy


@pytest.mark.parametrize("name", SHIPPED)
def test_every_element_is_drawn(name: str):
    """bpmn-js draws only what has a shape or an edge: a missing one hides a step from the
    process owner who edits the diagram."""
    root = etree.parse(str(BPMN / f"{name}.bpmn")).getroot()
    drawn = set(root.xpath("//*[local-name()='BPMNShape' or local-name()='BPMNEdge']/@bpmnElement"))
    elements = [
        el.get("id")
        for el in root.iter(etree.Element)
        if el.tag in FLOW_NODE_TAGS or el.tag == f"{{{NSMAP['bpmn']}}}sequenceFlow"
    ]
    assert sorted(set(elements) - drawn) == []
