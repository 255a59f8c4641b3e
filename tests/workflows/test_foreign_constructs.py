"""Issue 20: one complete report, and nothing deploys that cannot run.

Each diagram is a small mutation of ``three_steps.bpmn`` (as in test_validation.py), so each
test names the construct a diagram from another modeller brings and the line it is told about.
"""

from __future__ import annotations

import pytest

from tests.workflows.test_validation import CONDITION, FIXTURE, line_of, mutate
from workflows.errors import InvalidDefinition, Problem
from workflows.validation import validate

SCORE = '<bpmn:scriptTask id="score" name="Score the concern" scriptFormat="python">'
F3 = '<bpmn:sequenceFlow id="f3" sourceRef="score" targetRef="review" />'
# A second flow out of a script task: sound references, but the engine refuses it when parsing.
TWO_WAYS_OUT = F3 + '\n    <bpmn:sequenceFlow id="f3b" sourceRef="score" targetRef="end_done" />'
OUT_TWICE = "<bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f3b</bpmn:outgoing>"


def refused(text: str, conventions: bool = True) -> list[Problem]:
    with pytest.raises(InvalidDefinition) as caught:
        validate(text.encode(), conventions=conventions)
    return caught.value.problems


def test_conventions_a_foreign_condition_and_the_parser_in_one_report():
    """Convention problems no longer stop validation before the engine reads the diagram."""
    diagram = mutate(FIXTURE, ' camunda:dueDate="2WD"', "")
    diagram = mutate(diagram, CONDITION, "${approved}")
    diagram = mutate(diagram, F3, TWO_WAYS_OUT)
    diagram = mutate(diagram, "<bpmn:outgoing>f3</bpmn:outgoing>", OUT_TWICE)
    problems = refused(diagram)
    assert [(p.element_id, p.line) for p in problems] == [
        ("score", line_of(diagram, 'id="score"')),
        ("review", line_of(diagram, 'id="review"')),
        ("f_yes", line_of(diagram, 'id="f_yes"')),
    ]
    assert "outgoing" in problems[0].message
    assert "no due time" in problems[1].message
    assert "Python expressions over the task data: write approved" in problems[2].message
    assert all(p.severity == "error" for p in problems)


@pytest.mark.parametrize("reserved", ["Start", "End", "Root"])
def test_ids_the_engine_uses_for_its_own_steps_are_refused(reserved):
    """``Start`` deployed and then failed every start; each is now refused at its line."""
    diagram = FIXTURE.replace('"describe"', f'"{reserved}"').replace(">describe<", f">{reserved}<")
    problems = refused(diagram, conventions=False)
    assert [(p.element_id, p.line) for p in problems] == [
        (reserved, line_of(diagram, f'<bpmn:userTask id="{reserved}"'))
    ]
    assert "the engine's own name" in problems[0].message


def test_flowable_form_property_ids_reused_across_tasks_are_not_duplicates():
    field = '<flowable:formProperty id="comment" name="Comment" type="string" />'
    form = "<bpmn:extensionElements>\n        <camunda:formData>"
    diagram = FIXTURE.replace(
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"',
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:flowable="http://flowable.org/bpmn"',
    )
    diagram = diagram.replace(
        form, "<bpmn:extensionElements>\n        " + field + form.split(">", 1)[1]
    )
    # Camunda fields already there win: the Flowable ones are only read where there is no form.
    assert validate(diagram.encode(), conventions=True).key == "three_steps"


def test_schema_messages_name_prefixes_not_namespace_uris():
    diagram = mutate(
        FIXTURE,
        "<bpmn:incoming>f2</bpmn:incoming>",
        "<bpmn:bogus/><bpmn:incoming>f2</bpmn:incoming>",
    )
    problems = refused(diagram, conventions=False)
    assert problems and all("{http" not in p.message for p in problems), problems


def test_camunda_job_and_tasklist_settings_are_reported_as_ignored_not_dropped_silently():
    """Issue 18: what the Camunda panel offers and this engine does not use is named."""
    diagram = mutate(
        FIXTURE,
        '<bpmn:userTask id="review"',
        '<bpmn:userTask id="review" camunda:asyncBefore="true" camunda:followUpDate="${later}"',
    )
    warnings = validate(diagram.encode()).warnings
    assert [(p.element_id, p.line, p.severity) for p in warnings] == [
        ("review", line_of(diagram, 'id="review"'), "warning"),
        ("review", line_of(diagram, 'id="review"'), "warning"),
    ]
    assert warnings[0].message.startswith("camunda:asyncBefore: asynchronous continuations")
    assert warnings[1].message.startswith("camunda:followUpDate: follow-up dates are not shown")
