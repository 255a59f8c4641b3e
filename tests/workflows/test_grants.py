"""Deploying a diagram grants no access: a user task goes only to casework roles, and its default
assignee is someone the case already knows (``initiator`` or ``performer("step")``).

Each case is one mutation of ``three_steps.bpmn``; the problem must name the element a process
owner would fix and the line where it starts.
"""

from __future__ import annotations

import time

import pytest

from tests.workflows.test_validation import END_DONE, FIXTURE, QUICK, line_of, mutate, problems_of
from workflows.errors import InvalidDefinition
from workflows.rules import CASEWORK_ROLES, DeployRules
from workflows.validation import validate

REVIEW = 'camunda:candidateGroups="manager" camunda:dueDate="2WD"'
ACT = 'camunda:candidateGroups="practitioner" camunda:assignee="initiator"'


def _only(text: str, element_id: str, needle: str, *words: str) -> None:
    """Exactly one problem, on ``element_id``, at the line holding ``needle``, with ``words``."""
    problems = problems_of(text)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.element_id == element_id, problem
    assert problem.line == line_of(text, needle), problem
    for word in words:
        assert word in problem.message, problem


@pytest.mark.parametrize("role", ["board", "admin", "process_owner", "auditor", "practitionr"])
def test_a_candidate_group_outside_casework_is_refused(role):
    text = mutate(
        FIXTURE, REVIEW, f'camunda:candidateGroups="manager,{role}" camunda:dueDate="2WD"'
    )
    _only(text, "review", '<bpmn:userTask id="review"', repr(role), "may not be given casework")


def test_a_lane_named_for_another_role_is_refused_on_the_lane():
    text = mutate(
        FIXTURE,
        '<bpmn:lane id="lane_manager" name="manager">',
        '<bpmn:lane id="lane_manager" name="board">',
    )
    _only(text, "lane_manager", '<bpmn:lane id="lane_manager"', "'board'", "casework role")


def test_a_lane_without_user_tasks_may_have_any_name():
    text = mutate(
        FIXTURE,
        '<bpmn:lane id="lane_manager" name="manager">',
        '<bpmn:lane id="lane_manager" name="System">',
    )
    text = mutate(text, "        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>\n", "")
    validate(text.encode())  # the review task keeps its candidate group


def test_candidate_users_are_refused():
    text = mutate(FIXTURE, REVIEW, f'{REVIEW} camunda:candidateUsers="sam"')
    _only(text, "review", '<bpmn:userTask id="review"', "candidateUsers", "never to people")


def test_a_literal_user_as_assignee_is_refused():
    text = mutate(FIXTURE, ACT, 'camunda:candidateGroups="practitioner" camunda:assignee="sam"')
    _only(text, "act", '<bpmn:userTask id="act"', "'sam'", "by name", "initiator")


@pytest.mark.parametrize(
    "expression",
    ["${initiator}", "owner if approved else initiator", "initiator.upper()", "performer(step)"],
)
def test_any_other_assignee_expression_is_refused(expression):
    text = mutate(
        FIXTURE, ACT, f'camunda:candidateGroups="practitioner" camunda:assignee="{expression}"'
    )
    _only(text, "act", '<bpmn:userTask id="act"', "is not allowed", "performer(")


def test_performer_of_an_earlier_user_task_is_accepted():
    text = mutate(
        FIXTURE,
        ACT,
        'camunda:candidateGroups="practitioner" camunda:assignee="performer(\'describe\')"',
    )
    definition = validate(text.encode())
    assert definition.spec.task_specs["act"].extensions["assignee"] == "performer('describe')"


@pytest.mark.parametrize(
    "step, words",
    [
        ("nowhere", "names no user task"),
        ("score", "names no user task"),
        ("act", "the task itself"),
    ],
)
def test_performer_must_name_another_user_task_of_the_process(step, words):
    text = mutate(
        FIXTURE,
        ACT,
        f'camunda:candidateGroups="practitioner" camunda:assignee="performer(&quot;{step}&quot;)"',
    )
    _only(text, "act", '<bpmn:userTask id="act"', words)


def test_the_allowed_roles_come_from_the_caller():
    text = mutate(FIXTURE, REVIEW, 'camunda:candidateGroups="panel" camunda:dueDate="2WD"')
    rules = DeployRules(task_roles=CASEWORK_ROLES | {"panel"})
    assert validate(text.encode(), conventions=rules).key == "three_steps"
    with pytest.raises(InvalidDefinition):
        validate(text.encode(), conventions=DeployRules(task_roles=frozenset({"practitioner"})))


def test_thousands_of_lane_references_and_assignees_are_checked_at_once():
    n = 4000
    refs = "".join(f"<bpmn:flowNodeRef>u{i}</bpmn:flowNodeRef>" for i in range(n))
    tasks = "".join(
        f'<bpmn:userTask id="u{i}" camunda:assignee="performer(\'u{i + 1}\')" />' for i in range(n)
    )
    lane = '<bpmn:lane id="lane_manager" name="manager">'
    text = mutate(FIXTURE, lane, '<bpmn:lane id="lane_manager" name="x">' + refs)
    text = mutate(text, END_DONE, tasks + END_DONE)
    started = time.perf_counter()
    problems = problems_of(text)
    assert time.perf_counter() - started < QUICK
    assert {p.element_id for p in problems} == {"lane_manager", f"u{n - 1}"}
