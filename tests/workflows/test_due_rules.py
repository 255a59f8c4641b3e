"""Due times a diagram computes or anchors, checked at deploy (issue 15, points 4 and 9).

Each case changes the ``review`` task of ``three_steps.bpmn``: its ``camunda:dueDate`` becomes
an expression, or it gains a ``due*`` property. A refusal names ``review`` and the line of the
task (for an expression) or of the property (for a property).
"""

from __future__ import annotations

import pytest

from tests.workflows.test_timer_bounds import REVIEW_DUE, passes, refused
from tests.workflows.test_validation import FIXTURE, line_of, mutate

REVIEW_OPENS = REVIEW_DUE + ">\n      <bpmn:extensionElements>\n"


def due(expression: str) -> str:
    """``three_steps`` with ``review`` due at ``expression`` (XML-escaped by the caller)."""
    return mutate(
        FIXTURE, REVIEW_DUE, f'camunda:candidateGroups="manager" camunda:dueDate="{expression}"'
    )


def with_property(name: str, value: str) -> str:
    block = (
        "        <camunda:properties>\n"
        f'          <camunda:property name="{name}" value="{value}" />\n'
        "        </camunda:properties>\n"
    )
    return mutate(FIXTURE, REVIEW_OPENS, REVIEW_OPENS + block)


def assert_on_review(text: str, needle: str, *words: str) -> None:
    problem = refused(text)
    assert problem.element_id == "review", problem
    assert problem.line == line_of(text, needle), problem
    for word in words:
        assert word in problem.message, problem


@pytest.mark.parametrize(
    "expression",
    [
        "='same-day' if high_risk else '2WD'",
        "={'red': '4WH', 'amber': '1WD', 'green': '3WD'}.get(rating, '1WD')",
        "={'red': '4WH', 'amber': '1WD'}[rating]",
        "=chosen_due",  # computed: checked when it runs, where it falls back to same-day
        "=urgent and 'same-day' or '2WD'",
    ],
)
def test_a_due_time_expression_whose_results_are_due_times_passes(expression):
    passes(due(expression))


@pytest.mark.parametrize(
    "expression, words",
    [
        ("=high_risk and", ("does not compile",)),
        ("=", ("is empty",)),
        ("=().__class__", ("not allowed", "__class__")),
        ("=__import__('os')", ("not allowed",)),
    ],
)
def test_a_due_time_expression_that_does_not_compile_or_leaves_the_sandbox_is_refused(
    expression, words
):
    assert_on_review(due(expression), '<bpmn:userTask id="review"', "due time expression", *words)


@pytest.mark.parametrize(
    "expression, words",
    [
        ("='soon' if high_risk else '2WD'", ("'soon'", "not understood")),
        ("='same-day' if high_risk else '0WD'", ("'0WD'", "is zero")),
        ("={'red': '4WH', 'amber': '300WD'}.get(rating, '1WD')", ("'300WD'", "more than a year")),
        ("={'red': '4WH'}.get(rating, 'tomorrow')", ("'tomorrow'",)),
        ("=5", ("5", "a due time is a text")),
        ("=high_risk or 'P2Y'", ("'P2Y'", "at most a year")),
    ],
)
def test_a_due_time_expression_that_can_give_something_else_is_refused(expression, words):
    assert_on_review(due(expression), '<bpmn:userTask id="review"', *words)


@pytest.mark.parametrize("step", ["describe", "review", "act", "start"])
def test_due_from_a_user_task_of_the_process_or_its_start_passes(step):
    passes(with_property("due_from", step))


@pytest.mark.parametrize("step", ["score", "approved_gw", "nowhere", ""])
def test_due_from_naming_no_user_task_is_refused_on_the_property(step):
    text = with_property("due_from", step)
    assert_on_review(text, 'name="due_from"', "names no user task", "'start'")


@pytest.mark.parametrize("name", ["due_when_not_urgent", "due", "due_from_consent", "Due_date"])
def test_a_due_property_nothing_reads_is_refused_saying_what_is_read(name):
    text = with_property(name, "2WD")
    assert_on_review(text, f'name="{name}"', "is not read", "camunda:dueDate", "due_from")


def test_other_properties_are_left_to_their_readers():
    passes(with_property("withhold_identity_when", "in_doubt"))
