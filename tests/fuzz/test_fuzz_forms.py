"""Hostile answers against the form check (tasks/forms.py ``validate``), field by field.

Every field of every user task of every shipped diagram gets values of any JSON type and worse
(numbers beyond 64 bits, NaN, surrogates, NUL, right-to-left overrides, a megabyte of text,
lists nested thousands deep): the answer is either taken, cleaned to the field's type, or
refused with a problem naming that field. ``validate`` never raises.
"""

from __future__ import annotations

import datetime as dt
import math
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.forms import MAX_STRING, MAX_TEXT, FieldProblem, FormField, validate
from tests.tasks.test_forms import ALL_FORMS, JSON
from workflows.form_rules import LONG_MAX, LONG_MIN

FIELDS = [
    pytest.param(fields, field, id=f"{name}.{task_id}.{field.id}")
    for name, task_id, fields in ALL_FORMS
    for field in fields
]
FUZZ = settings(
    max_examples=12,
    deadline=timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


EDGE_STRINGS = [
    "\x00",
    "a\x00b",
    "\u202eevil",
    "\ufeffBOM",
    "\ud800",
    "\udfff lone",
    "e\u0301",
    "\U0001f600",
    "\uffff",
    "x" * (MAX_STRING + 1),
    "x" * (MAX_TEXT + 1),
    "x" * 1_000_000,
    "2024-02-30",
    "0000-01-01",
    "9999-12-31",
    "2024-1-1",
    "２０２４-０１-０１",  # full-width digits
    "true",
    "1",
    "١٢",  # Arabic-Indic digits
    "line\nbreak",
    "\r",
    "  ",
]
HOSTILE = st.one_of(
    JSON,
    st.integers(LONG_MIN - 10, LONG_MAX + 10),
    st.sampled_from([2**63, -(2**63) - 1, 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=()), max_size=40),  # surrogates included
    st.sampled_from(EDGE_STRINGS),
    st.integers(1, 5_000).map(nested),
    st.dictionaries(st.integers() | st.none() | st.text(max_size=3), JSON, max_size=3),
)


def _well_typed(field: FormField, value) -> bool:
    """Could ``value`` be an answer to ``field`` at all (before the diagram's rules)?"""
    if field.type == "boolean":
        return isinstance(value, bool)
    if field.type == "long":
        return type(value) is int and LONG_MIN <= value <= LONG_MAX
    if not isinstance(value, str):
        return False
    if field.type == "enum":
        return value in field.option_ids
    if field.type == "date":
        try:
            return dt.date.fromisoformat(value).isoformat() == value
        except ValueError:
            return False
    return len(value) <= (MAX_TEXT if field.type == "text" else MAX_STRING)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@pytest.mark.parametrize(("fields", "field"), FIELDS)
@FUZZ
@given(value=HOSTILE, context=st.dictionaries(st.text(max_size=20), HOSTILE, max_size=3))
def test_a_hostile_answer_is_cleaned_or_named(fields, field, value, context):
    cleaned, problems = validate(fields, {field.id: value}, context)

    known = {f.id for f in fields}
    assert all(isinstance(p, FieldProblem) and p.field in known for p in problems)
    assert all(isinstance(p.message, str) and p.message for p in problems)
    named = [p for p in problems if p.field == field.id]
    if _blank(value):
        assert cleaned[field.id] is None
    elif not _well_typed(field, value):
        assert named, f"{value!r:.80} was taken for a {field.type} field"
    if not named and not _blank(value):
        assert cleaned[field.id] == value and _well_typed(field, value)
        if isinstance(value, float):
            assert math.isfinite(value)


DATA = st.one_of(
    HOSTILE,
    st.dictionaries(st.text(max_size=200) | st.integers() | st.none(), HOSTILE, max_size=8),
    st.integers(1, 3_000).map(lambda n: {f"k{i}": i for i in range(n)}),
)


@pytest.mark.parametrize(
    "fields", [pytest.param(fields, id=f"{n}.{t}") for n, t, fields in ALL_FORMS]
)
@FUZZ
@given(data=DATA)
def test_a_hostile_body_is_refused_field_by_field_without_raising(fields, data):
    cleaned, problems = validate(fields, data)

    known = {f.id for f in fields}
    for problem in problems:
        assert problem.field is None or len(problem.field) <= 101  # long keys are cut
    if not isinstance(data, dict):
        assert [p.field for p in problems] == [None]
    else:
        unknown = [k for k in data if not (isinstance(k, str) and k in known)]
        assert len([p for p in problems if p.message == "This field is not on the form"]) == len(
            unknown
        )
