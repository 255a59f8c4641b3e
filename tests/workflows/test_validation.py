"""Checking uploaded diagrams: every problem names the element at fault and the line it starts on.

Each invalid diagram is a small mutation of ``three_steps.bpmn``; the expected line is computed
from the mutated text, so the tests say *which* line a modeller would be sent to, not a number.
"""

from __future__ import annotations

import pytest

from tests.conftest import fixture_bytes
from workflows.errors import InvalidDefinition, Problem
from workflows.validation import ParsedDefinition, validate

FIXTURE = fixture_bytes("three_steps.bpmn").decode("utf-8")
QUICK = 2.0  # seconds: hostile input must be refused at once, never hang

END_DONE = '    <bpmn:endEvent id="end_done" name="Action taken">\n'
F5 = '    <bpmn:sequenceFlow id="f5" sourceRef="act" targetRef="end_done" />\n'
SCRIPT = "high_risk = (severity or 0) &gt;= 7"
CONDITION = "approved == True"


def mutate(text: str, old: str, new: str, count: int = 1) -> str:
    """``text`` with ``old`` replaced by ``new``; ``old`` must occur exactly ``count`` times."""
    assert text.count(old) == count, f"the fixture changed: {old!r} found {text.count(old)}x"
    return text.replace(old, new)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the ``occurrence``-th line of ``text`` that contains ``needle``."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) >= occurrence, f"{needle!r} is not in the text {occurrence} time(s)"
    return lines[occurrence - 1]


def problems_of(text: str | bytes) -> list[Problem]:
    content = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(InvalidDefinition) as caught:
        validate(content, "upload.bpmn")
    assert caught.value.problems, "InvalidDefinition must list at least one problem"
    return caught.value.problems


def reminder(attached_to: str, duration: str) -> str:
    """The fixture with a non-interrupting reminder timer on a task, placed before ``end_done``."""
    boundary = (
        f'    <bpmn:boundaryEvent id="reminder" attachedToRef="{attached_to}"'
        ' cancelActivity="false">\n'
        '      <bpmn:timerEventDefinition id="reminder_timer">'
        f"<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>\n"
        "    </bpmn:boundaryEvent>\n"
    )
    return mutate(FIXTURE, END_DONE, boundary + END_DONE)


SECOND_PROCESS = (
    "  </bpmn:process>\n"
    '  <bpmn:process id="second" name="Second" isExecutable="true">\n'
    '    <bpmn:startEvent id="second_start" />\n'
    "  </bpmn:process>\n"
)

# (mutated diagram, element at fault, text on the line where that element starts, words the
# message must contain). Each mutation has exactly one thing wrong.
ONE_PROBLEM_CASES = [
    pytest.param(
        mutate(FIXTURE, END_DONE, '    <bpmn:frobnicate id="bogus" />\n' + END_DONE),
        "bogus",
        'id="bogus"',
        ["unknown", "frobnicate"],
        id="unknown-element",
    ),
    pytest.param(
        mutate(FIXTURE, "bpmn:startEvent", "bpmn:task", count=2),
        "three_steps",
        '<bpmn:process id="three_steps"',
        ["no start event"],
        id="missing-start-event",
    ),
    pytest.param(
        mutate(
            FIXTURE, 'sourceRef="act" targetRef="end_done"', 'sourceRef="act" targetRef="nowhere"'
        ),
        "f5",
        'id="f5"',
        ["targetRef", "'nowhere'", "does not exist"],
        id="flow-to-missing-target",
    ),
    pytest.param(
        mutate(
            FIXTURE,
            'sourceRef="act" targetRef="end_done"',
            'sourceRef="ghost" targetRef="end_done"',
        ),
        "f5",
        'id="f5"',
        ["sourceRef", "'ghost'", "does not exist"],
        id="flow-from-missing-source",
    ),
    pytest.param(
        reminder(attached_to="reveiw", duration='"P1D"'),
        "reminder",
        'id="reminder"',
        ["attachedToRef", "'reveiw'", "does not exist"],
        id="boundary-on-missing-task",
    ),
    pytest.param(
        mutate(FIXTURE, 'default="f_no"', 'default="f_maybe"'),
        "approved_gw",
        'id="approved_gw"',
        ["default", "'f_maybe'", "does not exist"],
        id="gateway-default-missing-flow",
    ),
    pytest.param(
        mutate(FIXTURE, 'default="f_no"', 'default="review"'),
        "approved_gw",
        'id="approved_gw"',
        ["default", "'review'", "userTask"],
        id="gateway-default-not-a-flow",
    ),
    pytest.param(
        mutate(FIXTURE, CONDITION, "approved =="),
        "f_yes",
        'id="f_yes"',
        ["condition", "does not compile"],
        id="condition-does-not-compile",
    ),
    pytest.param(
        mutate(FIXTURE, SCRIPT, "high_risk = (severity or 0"),
        "score",
        'id="score"',
        ["script", "does not compile", "never closed"],
        id="script-does-not-compile",
    ),
    pytest.param(
        mutate(FIXTURE, SCRIPT, "import os"),
        "score",
        'id="score"',
        ["script", "not allowed", "import"],
        id="script-imports",
    ),
    pytest.param(
        mutate(FIXTURE, CONDITION, "approved.__class__ == bool"),
        "f_yes",
        'id="f_yes"',
        ["condition", "not allowed", "__class__"],
        id="condition-reaches-dunder",
    ),
    pytest.param(
        reminder(attached_to="review", duration="PT4H"),
        "reminder",
        'id="reminder"',
        ["must be quoted", '"PT4H"'],
        id="unquoted-timer-duration",
    ),
    pytest.param(
        mutate(FIXTURE, 'camunda:dueDate="2WD"', 'camunda:dueDate="next tuesday"'),
        "review",
        'id="review"',
        ["due time", "'next tuesday'"],
        id="bad-due-date",
    ),
    pytest.param(
        mutate(FIXTURE, "  </bpmn:process>\n", SECOND_PROCESS),
        "second",
        'id="second"',
        ["more than one executable process", "three_steps", "second"],
        id="two-executable-processes",
    ),
]


@pytest.mark.parametrize(("diagram", "element_id", "line_text", "words"), ONE_PROBLEM_CASES)
def test_each_class_of_invalid_diagram_names_the_element_and_its_line(
    diagram, element_id, line_text, words
):
    problems = problems_of(diagram)

    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.element_id == element_id
    assert problem.line == line_of(diagram, line_text)
    for word in words:
        assert word in problem.message


def test_duplicate_id_is_reported_at_the_second_occurrence():
    diagram = mutate(FIXTURE, F5, F5 + F5)  # a copy-pasted sequence flow

    problems = problems_of(diagram)

    first, second = line_of(diagram, 'id="f5"', 1), line_of(diagram, 'id="f5"', 2)
    assert problems == [
        Problem("f5", second, f"duplicate id 'f5': also used on line {first}"),
    ]


def test_a_start_tag_over_several_lines_is_placed_on_its_first_line():
    # Pretty-printers put one attribute per line; the modeller is sent to where the task begins.
    one_line = (
        '<bpmn:userTask id="review" name="Review the concern" '
        'camunda:candidateGroups="manager" camunda:dueDate="2WD">'
    )
    several_lines = (
        "<bpmn:userTask\n"
        '        id="review"\n'
        '        name="Review the concern"\n'
        '        camunda:candidateGroups="manager"\n'
        '        camunda:dueDate="someday">'
    )
    diagram = mutate(FIXTURE, one_line, several_lines)
    diagram = mutate(diagram, END_DONE, "    <bpmn:frobnicate\n      id='bogus' />\n" + END_DONE)

    problems = problems_of(diagram)

    assert [(p.element_id, p.line) for p in problems] == [
        ("review", line_of(diagram, "<bpmn:userTask", 2)),
        ("bogus", line_of(diagram, "<bpmn:frobnicate")),
    ]
    assert "'someday'" in problems[0].message
    assert "frobnicate" in problems[1].message


def test_several_problems_in_one_file_are_all_reported_in_line_order():
    diagram = mutate(FIXTURE, 'camunda:dueDate="2WD"', 'camunda:dueDate="soon"')
    diagram = mutate(diagram, 'default="f_no"', 'default="f_maybe"')
    diagram = mutate(diagram, CONDITION, "approved ==")

    problems = problems_of(diagram)

    assert [(p.element_id, p.line) for p in problems] == [
        ("review", line_of(diagram, 'id="review"')),
        ("approved_gw", line_of(diagram, 'id="approved_gw"')),
        ("f_yes", line_of(diagram, 'id="f_yes"')),
    ]
    assert "'soon'" in problems[0].message
    assert "'f_maybe'" in problems[1].message
    assert "does not compile" in problems[2].message


def test_malformed_xml_is_placed_on_the_line_of_the_error():
    diagram = mutate(FIXTURE, "</bpmn:scriptTask>", "</bpmn:scriptTsk>")

    problems = problems_of(diagram)

    assert len(problems) == 1
    assert problems[0].element_id is None
    assert problems[0].line == line_of(diagram, "</bpmn:scriptTsk>")
    assert problems[0].message.startswith("malformed XML")
    assert "mismatch" in problems[0].message


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"this is not XML at all", id="plain-text"),
        pytest.param(fixture_bytes("three_steps.bpmn")[:2000], id="truncated"),
    ],
)
def test_content_that_is_not_xml_is_malformed(content):
    problems = problems_of(content)

    assert len(problems) == 1
    assert problems[0].message.startswith("malformed XML")
    assert isinstance(problems[0].line, int)


def test_xml_that_is_not_bpmn_is_refused_at_its_root_element():
    content = '<?xml version="1.0"?>\n<html><body>not a diagram</body></html>\n'

    problems = problems_of(content)

    assert problems == [Problem(None, line_of(content, "<html>"), "not a BPMN 2.0 file")]


def test_a_valid_diagram_returns_a_parsed_definition():
    content = fixture_bytes("three_steps.bpmn")

    parsed = validate(content, "three_steps.bpmn")

    assert isinstance(parsed, ParsedDefinition)
    assert parsed.key == "three_steps"
    assert parsed.name == "Three steps"
    assert parsed.content == content
    assert {"describe", "score", "review", "approved_gw", "act"} <= set(parsed.spec.task_specs)
    assert parsed.spec.task_specs["review"].extensions["due"] == "2WD"


def test_a_valid_reminder_timer_with_a_quoted_duration_passes():
    parsed = validate(reminder(attached_to="review", duration='"P1D"').encode("utf-8"))

    assert "reminder" in parsed.spec.task_specs


# -- form field and option ids: their own namespace (the data dictionary reuses them) -------------
def test_form_field_ids_may_repeat_across_tasks_and_match_task_ids():
    text = FIXTURE.replace('formField id="approved"', 'formField id="concern"').replace(
        'formField id="action_taken"', 'formField id="review"'
    )
    parsed = validate(text.encode(), "three_steps.bpmn")
    # the field called "review" (in the later task "act") must not hide the task "review"
    assert parsed.spec.task_specs["review"].bpmn_name == "Review the concern"
    assert [f.id for f in parsed.spec.task_specs["act"].form.fields] == ["review"]


def test_a_field_id_twice_in_one_form_is_a_duplicate():
    text = FIXTURE.replace('formField id="severity"', 'formField id="concern"')
    with pytest.raises(InvalidDefinition) as caught:
        validate(text.encode(), "three_steps.bpmn")
    second = text.splitlines().index(
        next(line for line in text.splitlines() if 'id="concern" label="How severe' in line)
    )
    assert [(p.element_id, p.line) for p in caught.value.problems] == [("concern", second + 1)]
    assert "duplicate id 'concern'" in caught.value.problems[0].message


def test_a_message_throw_without_a_payload_expression_is_refused():
    # SpiffWorkflow's Camunda throw evaluates camunda:expression; without one it crashes later.
    throw = (
        '<bpmn:intermediateThrowEvent id="tell_police"><bpmn:incoming>f5</bpmn:incoming>'
        '<bpmn:outgoing>f6</bpmn:outgoing><bpmn:messageEventDefinition messageRef="m1" />'
        "</bpmn:intermediateThrowEvent>"
    )
    text = (
        FIXTURE.replace('targetRef="end_done"', 'targetRef="tell_police"')
        .replace(
            '<bpmn:endEvent id="end_done"',
            throw
            + '\n    <bpmn:sequenceFlow id="f6" sourceRef="tell_police" targetRef="end_done" />'
            '\n    <bpmn:endEvent id="end_done"',
        )
        .replace(
            "<bpmn:collaboration", '<bpmn:message id="m1" name="notify" />\n  <bpmn:collaboration'
        )
    )
    with pytest.raises(InvalidDefinition) as caught:
        validate(text.encode(), "three_steps.bpmn")
    assert [(p.element_id, p.message) for p in caught.value.problems] == [
        ("tell_police", "a message throw needs camunda:expression (its payload)")
    ]
    fixed = text.replace('messageRef="m1" />', 'messageRef="m1" camunda:expression="{}" />')
    assert validate(fixed.encode(), "three_steps.bpmn").key == "three_steps"
