"""A user task's second agency (``other_agency_from``) is a bounded grant: it names an enum of
agencies answered at an earlier step, and a value outside the vocabulary grants nothing.

Each case is one mutation of the shipped ``escalation.bpmn``; the problem names the task that
carries the property and the property's line.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tasks.assignment import second_agency
from tests.workflows.test_validation import line_of, mutate, problems_of
from workflows.validation import validate

SHIPPED = (Path(__file__).resolve().parents[2] / "bpmn" / "escalation.bpmn").read_text()
GRANT = '<camunda:property name="other_agency_from" value="other_agency" />'
STAGE2_GRANT_LINE = line_of(SHIPPED, GRANT, 2)


def _stage2_names(field: str) -> str:
    """The shipped diagram with stage 2's property naming ``field`` instead."""
    lines = SHIPPED.splitlines(keepends=True)
    index = STAGE2_GRANT_LINE - 1
    lines[index] = lines[index].replace('value="other_agency"', f'value="{field}"')
    return "".join(lines)


def _only_on_stage2(text: str, *words: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert problem.element_id == "resolve_stage2", problem
    assert problem.line == STAGE2_GRANT_LINE, problem
    for word in words:
        assert word in problem.message, problem


def test_the_shipped_diagram_names_the_described_agency():
    validate(SHIPPED.encode(), "escalation.bpmn", conventions=True)


def test_an_option_that_is_not_an_agency_is_refused():
    text = mutate(
        SHIPPED,
        '<camunda:value id="other" name="other" />',
        '<camunda:value id="other" name="other" /><camunda:value id="board" name="the board" />',
    )
    problems = problems_of(text)
    assert {p.element_id for p in problems} == {f"resolve_stage{n}" for n in (1, 2, 3)}
    assert all("must all be agencies" in p.message and "board" in p.message for p in problems)


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("resolution", ("this very task",)),
        ("nowhere", ("no form field",)),
        ("disputed", ("not an enum",)),
        ("", ("names no form field",)),
    ],
)
def test_a_field_that_cannot_name_an_agency_is_refused(field, words):
    _only_on_stage2(_stage2_names(field), *words)


def test_a_field_answered_only_later_is_refused():
    later = (
        '<camunda:formField id="decider_agency" label="Agency" type="enum">'
        '<camunda:value id="police" name="police" /></camunda:formField>\n'
    )
    stage4 = SHIPPED.index('<bpmn:userTask id="resolve_stage4"')
    form = SHIPPED.index("<camunda:formData>", stage4) + len("<camunda:formData>")
    text = _stage2_names("decider_agency")
    shift = len(text) - len(SHIPPED)
    text = text[: form + shift] + later + text[form + shift :]
    _only_on_stage2(text, "does not come before")


def _opening(value, name: str = "other_agency"):
    spec = SimpleNamespace(extensions={"other_agency_from": name}, bpmn_id="resolve_stage1")
    return SimpleNamespace(task_spec=spec, data={"other_agency": value})


@pytest.mark.parametrize("value", ["health", "childrens_social_care"])
def test_an_agency_of_the_vocabulary_is_kept_as_the_task_opens(value):
    assert second_agency(_opening(value)) == value


@pytest.mark.parametrize("value", ["Health", "board", "", None, ["health"], "health; police"])
def test_anything_else_grants_nothing(value):
    assert second_agency(_opening(value)) is None


def test_a_task_that_names_no_field_has_no_second_agency():
    spec = SimpleNamespace(extensions={}, bpmn_id="act")
    assert second_agency(SimpleNamespace(task_spec=spec, data={"other_agency": "health"})) is None


def test_one_agency_vocabulary_for_grants_reports_and_the_disagreement_form():
    from lxml import etree

    from records.vocabulary import AGENCIES as REPORTED
    from workflows.rules import AGENCIES

    ns = {"camunda": "http://camunda.org/schema/1.0/bpmn"}
    options = etree.fromstring(SHIPPED.encode()).xpath(
        "//camunda:formField[@id='other_agency']/camunda:value/@id", namespaces=ns
    )
    assert set(options) == set(REPORTED) == AGENCIES
