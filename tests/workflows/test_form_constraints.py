"""Deploy-time checks of form declarations: types, constraint names, configs and conditions.

Each bad diagram is ``three_steps.bpmn`` with the ``severity`` field (a long, in task
``describe``) or the ``approved`` field (a boolean, in task ``review``) changed; the problem is
placed on the user task, at the line of the constraint (or the field) at fault.
"""

from __future__ import annotations

import pytest

from tests.conftest import fixture_bytes
from tests.workflows.test_validation import line_of, mutate
from workflows.errors import InvalidDefinition
from workflows.validation import validate

FIXTURE = fixture_bytes("three_steps.bpmn").decode("utf-8")
SEVERITY = '<camunda:formField id="severity" label="How severe (1-10)?" type="long" />'
APPROVED = '<camunda:formField id="approved" label="Approve action?" type="boolean" />'


def with_rules(field: str, *constraints: str) -> str:
    rules = "".join(
        f'\n<camunda:constraint name="{name}" config="{config}" />'
        for name, config in (c.split("=", 1) for c in constraints)
    )
    opened = field.replace(" />", ">")
    tag = "</camunda:formField>"
    return mutate(
        FIXTURE, field, f"{opened}\n<camunda:validation>{rules}\n</camunda:validation>{tag}"
    )


def problems(text: str) -> list[tuple[str | None, int | None, str]]:
    with pytest.raises(InvalidDefinition) as caught:
        validate(text.encode(), "three_steps.bpmn")
    return [(p.element_id, p.line, p.message) for p in caught.value.problems]


def test_the_declared_constraints_are_accepted():
    validate(with_rules(SEVERITY, "min=1", "max=10", "required_if=not approved").encode())
    validate(with_rules(APPROVED, "required=true", "equals=true").encode())


@pytest.mark.parametrize(
    ("field", "constraint", "message"),
    [
        (SEVERITY, "min=one", "form field 'severity': constraint 'min' needs a whole number"),
        (SEVERITY, "maxlength=3", "constraint 'maxlength' applies to string and text fields only"),
        (SEVERITY, "pattern=[0-9]+", "unknown constraint 'pattern'"),
        (SEVERITY, "required=yes", "constraint 'required' takes config true or false"),
        (APPROVED, "equals=yes", "constraint 'equals' on a boolean field takes true or false"),
        (APPROVED, "required_if=severity >", "the required_if condition does not compile"),
        (APPROVED, "required_if=__import__('os')", "the required_if condition is not allowed"),
        (APPROVED, "required_if=", "the required_if condition does not compile"),
    ],
)
def test_a_bad_constraint_is_placed_on_its_task_and_line(field, constraint, message):
    text = with_rules(field, constraint)
    task = "describe" if field == SEVERITY else "review"
    name, config = constraint.split("=", 1)
    [(element_id, line, found)] = problems(text)
    assert (element_id, line) == (task, line_of(text, f'name="{name}" config="{config}"'))
    assert message in found


def test_an_unknown_type_or_a_bad_field_id_is_refused():
    text = mutate(
        FIXTURE,
        'id="severity" label="How severe (1-10)?" type="long"',
        'id="severity" label="S" type="number"',
    )
    assert problems(text) == [
        (
            "describe",
            line_of(text, 'id="severity"'),
            "form field 'severity': type 'number' is not one of string, text, boolean, enum, "
            "date, long",
        )
    ]
    text = mutate(FIXTURE, 'formField id="severity"', 'formField id="how-severe"')
    [(element_id, _, message)] = problems(text)
    assert element_id == "describe"
    assert "the id must be a letter followed by letters, digits or underscores" in message


def test_an_enum_needs_options_and_equals_must_name_one():
    text = mutate(FIXTURE, 'label="Approve action?" type="boolean"', 'label="A" type="enum"')
    assert [m for _, _, m in problems(text)] == [
        "form field 'approved': an enum field needs at least one camunda:value"
    ]
    enum = '<camunda:formField id="approved" label="A" type="enum">'
    enum += '<camunda:value id="yes" name="yes" />'
    text = mutate(
        FIXTURE,
        APPROVED,
        enum + '<camunda:validation><camunda:constraint name="equals" config="no" />'
        "</camunda:validation></camunda:formField>",
    )
    assert [m for _, _, m in problems(text)] == [
        "form field 'approved': constraint 'equals' names 'no', which is not an option"
    ]
