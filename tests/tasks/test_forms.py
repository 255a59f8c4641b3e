"""tasks/forms.py: the diagram's form, checked strictly, with the rules the diagram declares."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.forms import FieldProblem, FormField, Option, form_json, form_of, validate
from workflows.validation import validate as validate_diagram

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


@cache
def shipped_forms(name: str) -> dict[str, list[FormField]]:
    definition = validate_diagram((BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
    specs = [definition.spec, *definition.subprocess_specs.values()]
    return {
        task.bpmn_id: form_of(task)
        for spec in specs
        for task in spec.task_specs.values()
        if getattr(task, "form", None) is not None and task.form.fields
    }


def one(field_type: str, **rules) -> list[FormField]:
    return [FormField(id="f", label="F", type=field_type, **rules)]


def problems_of(fields, data, context=None) -> list[tuple[str | None, str]]:
    return [(p.field, p.message) for p in validate(fields, data, context)[1]]


ENUM = one("enum", options=(Option("given", "given"), Option("refused", "refused")))

# (fields, value sent for "f", cleaned value or None, problem message or None)
TYPE_CASES = [
    (one("string"), "Mrs Smith, teacher", "Mrs Smith, teacher", None),
    (one("string"), 42, None, "Enter text"),
    (one("string"), "a\nb", None, "Remove control characters and line breaks"),
    (one("string"), "x" * 1_001, None, "Enter at most 1000 characters"),
    (one("string"), "nul\x00", None, "Remove control characters and line breaks"),
    (one("string"), "\ud800", None, "Remove characters that are not valid Unicode text"),
    (one("text"), "line one\nline two", "line one\nline two", None),
    (one("text"), "x" * 20_000, "x" * 20_000, None),
    (one("text"), "x" * 20_001, None, "Enter at most 20000 characters"),
    (one("text"), ["a"], None, "Enter text"),
    (one("boolean"), True, True, None),
    (one("boolean"), False, False, None),
    (one("boolean"), "true", None, "Enter true or false"),
    (one("boolean"), 1, None, "Enter true or false"),
    (one("long"), 12, 12, None),
    (one("long"), -(2**63), -(2**63), None),
    (one("long"), 2**63, None, "Enter a smaller whole number"),
    (one("long"), True, None, "Enter a whole number"),
    (one("long"), 3.0, None, "Enter a whole number"),
    (one("long"), "12", None, "Enter a whole number"),
    (ENUM, "refused", "refused", None),
    (ENUM, "Refused", None, "Choose one of: given, refused"),
    (ENUM, 0, None, "Choose one of: given, refused"),
    (one("date"), "2024-02-29", "2024-02-29", None),
    (
        one("date"),
        "2024-02-30",
        None,
        "Enter a real date as YYYY-MM-DD (2024-02-30 does not exist)",
    ),
    (
        one("date"),
        "2023-02-29",
        None,
        "Enter a real date as YYYY-MM-DD (2023-02-29 does not exist)",
    ),
    (
        one("date"),
        "0000-01-01",
        None,
        "Enter a real date as YYYY-MM-DD (0000-01-01 does not exist)",
    ),
    (one("date"), "29/02/2024", None, "Enter a date as YYYY-MM-DD"),
    (one("date"), "20240229", None, "Enter a date as YYYY-MM-DD"),
    (one("date"), "2024-02-29T10:00", None, "Enter a date as YYYY-MM-DD"),
    (one("date"), "٢٠٢٤-٠٢-٢٩", None, "Enter a date as YYYY-MM-DD"),
    (one("date"), 20240229, None, "Enter a date as YYYY-MM-DD"),
    (one("long", min=0, max=25), 25, 25, None),
    (one("long", min=0, max=25), -1, None, "Enter 0 or more"),
    (one("long", min=0, max=25), 26, None, "Enter 25 or less"),
    (one("string", min_length=2, max_length=3), "ab", "ab", None),
    (one("string", min_length=2, max_length=3), "a", None, "Enter at least 2 characters"),
    (one("string", min_length=2, max_length=3), "abcd", None, "Enter at most 3 characters"),
    (one("boolean", equals=True), True, True, None),
    (one("boolean", equals=True), False, None, "Must be confirmed (true)"),
    (one("enum", options=ENUM[0].options, equals="given"), "refused", None, "Must be given"),
]


@pytest.mark.parametrize(("fields", "value", "clean", "message"), TYPE_CASES)
def test_each_type_is_checked_strictly(fields, value, clean, message):
    cleaned, problems = validate(fields, {"f": value})
    if message is None:
        assert problems == []
        assert cleaned == {"f": clean}
        assert type(cleaned["f"]) is type(clean)
    else:
        assert problems == [FieldProblem("f", message)]


@pytest.mark.parametrize("absent", [{}, {"f": None}, {"f": ""}, {"f": "   "}])
@pytest.mark.parametrize("field_type", ["string", "text", "boolean", "enum", "date", "long"])
def test_null_empty_and_blank_are_not_answered(field_type, absent):
    fields = ENUM if field_type == "enum" else one(field_type)
    assert validate(fields, absent) == ({"f": None}, [])
    required = [FormField("f", "F", field_type, required=True, options=fields[0].options)]
    assert problems_of(required, absent) == [("f", "This field is required")]


def test_unknown_fields_are_named_and_every_problem_is_reported():
    fields = [
        FormField("a", "A", "boolean", required=True),
        FormField("b", "B", "long", required=True),
    ]
    assert problems_of(fields, {"b": "x", "zz": 1, "a": "yes", "x" * 500: 1}) == [
        ("a", "Enter true or false"),
        ("b", "Enter a whole number"),
        ("zz", "This field is not on the form"),
        ("x" * 100 + "…", "This field is not on the form"),
    ]
    assert problems_of(fields, ["a"]) == [
        (None, "Send an object whose keys are the form's field ids")
    ]


def test_required_if_reads_the_form_and_the_instance_data():
    fields = [
        FormField("response", "R", "enum", True, (Option("accept", "a"), Option("challenge", "c"))),
        FormField("reason", "Why", "text", required_if="response == 'challenge'"),
        FormField("basis", "Basis", "string", required_if="consent_outcome == 'refused'"),
    ]
    assert problems_of(fields, {"response": "accept"}) == []
    assert problems_of(fields, {"response": "challenge"}) == [("reason", "This field is required")]
    assert problems_of(fields, {"response": "challenge", "reason": "Too late"}) == []
    # a name neither the form nor the instance holds reads as None
    assert problems_of(fields, {"response": "accept"}, {}) == []
    assert problems_of(fields, {"response": "accept"}, {"consent_outcome": "refused"}) == [
        ("basis", "This field is required")
    ]
    # the form's own answer (even "not answered") wins over the instance data
    assert problems_of(fields, {"response": "accept"}, {"response": "challenge"}) == []


def test_required_and_required_if_together_report_once():
    fields = [FormField("f", "F", "text", required=True, required_if="True")]
    assert problems_of(fields, {}) == [("f", "This field is required")]


def test_refused_if_refuses_an_answer_the_path_does_not_allow():
    """An adviser may not turn a safeguarding share into "do not share" (processes.md)."""
    options = (Option("share", "share"), Option("do_not_share", "do not share"))
    fields = [
        FormField(
            "advice_outcome",
            "Advice",
            "enum",
            True,
            options,
            refused_if="advice_outcome == 'do_not_share' and significant_harm",
            refused_message="This is a safeguarding share: advice cannot stop it",
        )
    ]
    harm = {"significant_harm": True}
    assert problems_of(fields, {"advice_outcome": "do_not_share"}, harm) == [
        ("advice_outcome", "This is a safeguarding share: advice cannot stop it")
    ]
    assert problems_of(fields, {"advice_outcome": "share"}, harm) == []
    assert problems_of(fields, {"advice_outcome": "do_not_share"}, {}) == []


def test_a_rule_that_fails_keeps_the_answer_out():
    fields = [
        FormField("age", "Age", "long"),
        FormField("why", "Why", "text", required_if="age < 13"),
    ]
    assert problems_of(fields, {"age": 12}) == [("why", "This field is required")]
    [(field, message)] = problems_of(fields, {})
    assert field == "why"
    assert message.startswith("This field's rule could not be checked (TypeError")


def test_form_json_is_the_api_shape():
    fields = [
        FormField("outcome", "Outcome", "enum", True, (Option("given", "Given"),), help="Say"),
        FormField("ok", "OK", "boolean", True, equals=True),
        FormField("note", "Note", "text"),
    ]
    assert form_json(fields) == [
        {
            "id": "outcome",
            "label": "Outcome",
            "type": "enum",
            "required": True,
            "options": [{"id": "given", "label": "Given"}],
            "help": "Say",
        },
        {
            "id": "ok",
            "label": "OK",
            "type": "boolean",
            "required": True,
            "constraints": {"equals": True},
        },
        {"id": "note", "label": "Note", "type": "text", "required": False},
    ]


def test_describe_request_matches_the_data_dictionary():
    form = shipped_forms("information_sharing")["describe_request"]
    agencies = [
        "police",
        "health",
        "school",
        "childrens_social_care",
        "early_help",
        "voluntary",
        "other",
    ]
    expected = [
        ("information", "text", True, None),
        ("recipient_agency", "enum", True, agencies),
        ("recipient_person", "string", False, None),
        ("purpose", "text", True, None),
        ("urgent", "boolean", False, None),
        ("legitimate_purpose", "enum", True, ["yes", "no", "unsure"]),
        ("identifies_living_person", "boolean", True, None),
        ("confidential", "boolean", True, None),
    ]
    got = [
        (f["id"], f["type"], f["required"], [o["id"] for o in f.get("options", [])] or None)
        for f in form_json(form)
    ]
    assert got == expected


def test_the_shipped_diagrams_declare_the_conditional_rules():
    sharing = shipped_forms("information_sharing")
    share = {f.id: f for f in sharing["share_information"]}
    assert share["necessary_and_proportionate"].equals is True
    answers = {"information_shared": "Chronology", "method": "secure_email"}
    confirmed = {**answers, "necessary_and_proportionate": True}
    assert problems_of(
        sharing["share_information"], {**answers, "necessary_and_proportionate": False}
    ) == [("necessary_and_proportionate", "Must be confirmed (true)")]
    without_consent = [{"consent_unsafe": True}, {"consent_outcome": "refused"}]
    for context in without_consent + [{"consent_outcome": "not_obtained"}]:
        assert problems_of(sharing["share_information"], confirmed, context) == [
            ("lawful_basis", "This field is required")
        ]
    for context in [{}, {"consent_outcome": "given"}, {"consent_unsafe": False}]:
        assert problems_of(sharing["share_information"], confirmed, context) == []

    check = sharing["safeguarding_check"]
    base = {f.id: False for f in check if f.type == "boolean"} | {"child_age": 14}
    assert problems_of(check, base) == []
    assert problems_of(check, {**base, "consent_unsafe": True}) == [
        ("consent_unsafe_reason", "This field is required")
    ]
    inform = sharing["inform_family"]
    assert problems_of(inform, {"subject_informed": True}) == []
    assert problems_of(inform, {"subject_informed": False}) == [
        ("not_informed_reason", "This field is required")
    ]

    accept = shipped_forms("referral")["accept_or_challenge"]
    assert problems_of(accept, {"referrer_response": "accept"}) == []
    assert problems_of(accept, {"referrer_response": "challenge"}) == [
        ("challenge_reason", "This field is required"),
        ("wanted_outcome", "This field is required"),
    ]
    explain = shipped_forms("early_help_caf")["explain_sharing"]
    assert problems_of(explain, {"explained": False, "explained_on": "2024-05-01"}) == [
        ("explained", "Must be confirmed (true)")
    ]


ALL_FORMS = [
    (name, task_id, fields)
    for name in ["information_sharing", "referral", "early_help_caf", "escalation"]
    for task_id, fields in shipped_forms(name).items()
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def test_every_shipped_diagram_has_forms():
    assert {name for name, _, _ in ALL_FORMS} == {
        "information_sharing",
        "referral",
        "early_help_caf",
        "escalation",
    }


def answer(item: FormField):
    """A plausible answer (often valid) or anything JSON can carry."""
    valid = {
        "boolean": st.booleans(),
        "long": st.integers(-(2**63), 2**63 - 1),
        "enum": st.sampled_from([o.id for o in item.options or ()] or [""]),
        "date": st.dates().map(lambda d: d.isoformat()),
        "string": st.text(max_size=30),
        "text": st.text(max_size=200),
    }[item.type]
    return valid | valid | st.none() | st.just("") | JSON


CONTEXT_NAMES = ["consent_unsafe", "consent_outcome", "subject_informed", "referrer_response"]


@pytest.mark.parametrize(("name", "task_id", "fields"), ALL_FORMS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_validate_never_raises_and_clean_data_is_a_fixed_point(name, task_id, fields, data):
    plausible = st.fixed_dictionaries({}, optional={f.id: answer(f) for f in fields})
    extra = st.dictionaries(st.text(max_size=5), JSON, max_size=2)
    body = data.draw(
        plausible | st.builds(lambda a, b: {**b, **a}, plausible, extra) | JSON, label="data"
    )
    context = data.draw(
        st.dictionaries(st.sampled_from(CONTEXT_NAMES) | st.text(max_size=20), JSON, max_size=3),
        label="context",
    )
    cleaned, problems = validate(fields, body, context)
    assert all(isinstance(p, FieldProblem) and p.message for p in problems)
    if not problems:
        assert set(cleaned) == {f.id for f in fields}
        assert validate(fields, cleaned, context) == (cleaned, [])
