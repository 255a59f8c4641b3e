"""Deploy checks of advice without identity and step-only details (workflows/visibility_rules.py):
each refusal names the element and its line, like every other diagram problem."""

from __future__ import annotations

import pytest

from tests.conftest import fixture_bytes
from tests.workflows.test_validation import line_of, mutate, problems_of
from workflows.validation import validate

FIXTURE = fixture_bytes("advice_and_details.bpmn").decode("utf-8")
CONDITION = '<camunda:property name="withhold_identity_when" value="anonymous_advice" />'
SHOWS = '<camunda:property name="shows" value="advice_summary,cse_concern" />'


def test_the_fixture_is_valid():
    assert validate(FIXTURE.encode("utf-8")).key == "advice_and_details"


@pytest.mark.parametrize(
    ("source", "why"),
    [("anonymous_advice and", "does not compile"), ("().__class__", "not allowed")],
)
def test_a_withholding_condition_must_compile_and_pass_the_sandbox(source, why):
    text = mutate(FIXTURE, 'value="anonymous_advice"', f'value="{source}"')
    [problem] = problems_of(text)
    assert problem.element_id == "give_advice" and why in problem.message
    assert problem.line == line_of(text, 'id="give_advice"')


@pytest.mark.parametrize(
    ("shown", "why"),
    [
        ("advice_summary,nobody_asked", "'nobody_asked', which no earlier user task"),
        ("advice_summary,information_shared", "'information_shared', which no earlier"),
        ("partner_details", "only a step's parties see"),
    ],
)
def test_shows_names_only_earlier_fields_that_are_not_step_only(shown, why):
    text = mutate(FIXTURE, 'value="advice_summary,cse_concern"', f'value="{shown}"')
    [problem] = problems_of(text)
    assert problem.element_id == "give_advice" and why in problem.message


def test_shows_without_a_condition_is_refused():
    [problem] = problems_of(mutate(FIXTURE, CONDITION, ""))
    assert problem.element_id == "give_advice" and "needs withhold_identity_when" in problem.message


def test_visibility_says_step_or_nothing():
    text = mutate(FIXTURE, 'id="visibility" value="step"', 'id="visibility" value="team"', 2)
    problems = problems_of(text)
    assert {p.element_id for p in problems} == {"safeguarding_check", "share_information"}
    assert all("visibility must be 'step'" in p.message for p in problems)
    assert SHOWS in FIXTURE
