"""Every path of ``referral``: who is told, what may be decided, and what a challenge waits for.

Revised rules (docs/protocol/processes.md): under-13 sexual activity, significant harm and CSE
always go to a strategy discussion with the police notified, and no step on those paths may end
the case with no further action or a step down; every referral is a register entry (a share
with children's social care); a challenge starts the escalation with the challenger's words and
the referral waits for its outcome (upheld: the decision is taken again).
"""

from __future__ import annotations

import pytest

from tasks.forms import form_of
from tasks.forms import validate as validate_form
from tests.diagrams.walking import Do, Message, Path, Timer, Walker, walk
from workflows.facts import open_user_tasks

PARTNERS = "Man known as 'Dee', about 25, drives a black Golf; met her outside school"
CSE = {
    "concerns": "Child missing overnight twice this month, older adults seen collecting her",
    "threshold_level": "child_protection",
    "cse_concern": True,
    "partner_details": PARTNERS,
    "missing_from_home": True,
    "family_aware": True,
}
UNDER_13 = {
    "concerns": "Girl aged 12 disclosed sexual activity with a 15-year-old",
    "threshold_level": "child_protection",
    "under_13_sexual_activity": True,
    "family_aware": False,
    "not_informed_reason": "Telling the family first could put her at risk",
}
HARM = {
    "concerns": "Unexplained bruising to a 4-year-old's face and arms",
    "threshold_level": "child_protection",
    "significant_harm": True,
    "family_aware": True,
    "consent_given": True,
}
NEGLECT = {
    "concerns": "Neglect: no food at home",
    "threshold_level": "child_in_need",
    "family_aware": False,
    "not_informed_reason": "Mother not reachable today; school will tell her tomorrow",
}
MISSING = {
    "concerns": "Ran away from home twice this month; found by police each time",
    "threshold_level": "targeted",
    "missing_from_home": True,
    "family_aware": True,
    "lawful_basis": "UK GDPR Art. 6(1)(e) public task (Children Act 1989 s17)",
}
SAFEGUARDING_BASIS = (
    "UK GDPR Art. 6(1)(e); Art. 9 with DPA 2018 Sch. 1 para 18 "
    "(safeguarding of children and individuals at risk)"
)
POLICE = Do("notify_police_cse", {"notified": True, "police_reference": "CH-123"})
FEEDBACK = Do("feedback_to_referrer", {"feedback": "Outcome explained by phone"})
ACCEPT = Do("accept_or_challenge", {"referrer_response": "accept"})
CHALLENGE = Do(
    "accept_or_challenge",
    {
        "referrer_response": "challenge",
        "challenge_reason": "Three missed school days and no food: the risk is higher than rated",
        "wanted_outcome": "A child and family assessment",
    },
)
UPHELD = Message(
    "escalation_outcome",
    {"upheld": True, "resolution": "Team manager agrees: assessment", "stage": 1},
)
NOT_UPHELD = Message(
    "escalation_outcome",
    {"upheld": False, "resolution": "Managers agree the threshold is not met", "stage": 2},
)


def decide(response: str, rating: str = "amber") -> Do:
    return Do(
        "decide_response",
        {"mash_rating": rating, "response": response, "reasons": f"MASH decision: {response}"},
    )


def strategy(outcome: str) -> Do:
    return Do("strategy_discussion", {"outcome": outcome, "attendees": "police, health, school"})


def assessed(outcome: str) -> Do:
    return Do("complete_assessment", {"assessment_outcome": outcome})


def referred(referral: dict, with_consent: bool = False, **more) -> dict:
    """The register entry every referral writes (a subset to compare)."""
    return {
        "decision": "share",
        "with_consent": with_consent,
        "recipients": [{"agency": "childrens_social_care"}],
        "information_shared": referral["concerns"],
        "purpose": "Referral to children's social care: "
        + referral["threshold_level"].replace("_", " "),
        "subject_informed": referral["family_aware"],
        **more,
    }


PATHS = [
    Path(
        "under-13 sexual activity: police told; strategy discussion, s47, conference",
        [
            Do("make_referral", UNDER_13),
            POLICE,
            decide("strategy_discussion", "red"),
            FEEDBACK,
            ACCEPT,
            strategy("section_47"),
            Do("initial_conference", {"outcome": "child_protection_plan"}),
        ],
        ends={"end_police", "end_accepted", "end_conference"},
        entries=[
            referred(
                UNDER_13,
                lawful_basis=SAFEGUARDING_BASIS,
                not_informed_reason=UNDER_13["not_informed_reason"],
            )
        ],
    ),
    Path(
        "significant harm, with the family's agreement: police told; strategy discussion "
        "decides an assessment; child in need plan",
        [
            Do("make_referral", HARM),
            POLICE,
            decide("strategy_discussion", "red"),
            FEEDBACK,
            ACCEPT,
            strategy("assessment"),
            assessed("child_in_need_plan"),
        ],
        ends={"end_police", "end_accepted", "end_cin"},
        entries=[referred(HARM, with_consent=True, consent_status="given")],
    ),
    Path(
        "CSE from information sharing (partners' details prefilled): police and CSE lead told; "
        "assessment finds s47 concerns; conference, no plan",
        [
            Do("make_referral", CSE),
            Do("notify_police_cse", {"notified": True, "partner_details": PARTNERS}),
            decide("strategy_discussion", "red"),
            FEEDBACK,
            ACCEPT,
            strategy("assessment"),
            assessed("strategy_discussion"),
            strategy("section_47"),
            Do("initial_conference", {"outcome": "no_plan"}),
        ],
        ends={"end_police", "end_accepted", "end_conference"},
        entries=[referred(CSE, consent_status="not_sought")],
        variables={
            "concerns": CSE["concerns"],
            "cse_concern": True,
            "under_13_sexual_activity": False,
            "significant_harm": False,
            "partner_details": PARTNERS,
            "source": "information_sharing",
        },
    ),
    Path(
        "ordinary referral, not decided in a working day: reminder; no further action",
        [
            Do("make_referral", NEGLECT),
            Timer("timer_decide"),
            decide("no_further_action", "blue"),
            FEEDBACK,
            ACCEPT,
        ],
        ends={"end_no_police", "end_reminder", "end_nfa", "end_accepted"},
        entries=[referred(NEGLECT, not_informed_reason=NEGLECT["not_informed_reason"])],
    ),
    Path(
        "ordinary referral stepped down to early help at once (starts early_help_caf)",
        [Do("make_referral", NEGLECT), decide("early_help", "green"), FEEDBACK, ACCEPT],
        ends={"end_no_police", "end_stepped_down", "end_accepted"},
        thrown=["start_early_help"],
        entries=[referred(NEGLECT)],
    ),
    Path(
        "challenge upheld: escalation started, the decision taken again (assessment)",
        [
            Do("make_referral", NEGLECT),
            decide("no_further_action", "green"),
            FEEDBACK,
            CHALLENGE,
            UPHELD,
            decide("assessment", "amber"),
            FEEDBACK,
            ACCEPT,
            assessed("child_in_need_plan"),
        ],
        ends={"end_no_police", "end_nfa", "end_accepted", "end_cin"},
        thrown=["start_escalation"],
        entries=[referred(NEGLECT)],
    ),
    Path(
        "challenge not upheld: the referral ends as decided; assessment steps down",
        [
            Do("make_referral", NEGLECT),
            decide("assessment", "green"),
            FEEDBACK,
            CHALLENGE,
            assessed("step_down"),
            NOT_UPHELD,
        ],
        ends={"end_no_police", "end_challenged", "end_assessed_stepped_down"},
        thrown=["start_escalation", "start_early_help"],
        entries=[referred(NEGLECT)],
    ),
    Path(
        "missing from home only: police told; strategy discussion may end the case",
        [
            Do("make_referral", MISSING),
            POLICE,
            decide("strategy_discussion"),
            FEEDBACK,
            ACCEPT,
            strategy("no_further_action"),
        ],
        ends={"end_police", "end_accepted", "end_strategy_nfa"},
        entries=[referred(MISSING, lawful_basis=MISSING["lawful_basis"])],
    ),
    Path(
        "ordinary assessment: no further action",
        [
            Do("make_referral", NEGLECT),
            decide("assessment"),
            FEEDBACK,
            ACCEPT,
            assessed("no_further_action"),
        ],
        ends={"end_no_police", "end_accepted", "end_assessed_nfa"},
        entries=[referred(NEGLECT)],
    ),
]


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_path(path: Path):
    walk("referral", path)


def refused(walker: Walker, element_id: str, data: dict) -> dict[str, str]:
    """The problems the service's form check finds with ``data`` at the waiting ``element_id``."""
    (task,) = [
        t for t in open_user_tasks(walker.workflow).values() if t.task_spec.bpmn_id == element_id
    ]
    _, problems = validate_form(form_of(task.task_spec), data, task.data)
    return {p.field: p.message for p in problems}


@pytest.mark.parametrize("referral", [UNDER_13, HARM, CSE], ids=["under 13", "harm", "cse"])
@pytest.mark.parametrize("response", ["no_further_action", "early_help", "assessment"])
def test_a_safeguarding_referral_goes_to_a_strategy_discussion(referral: dict, response: str):
    walker = Walker("referral").walk([Do("make_referral", referral)])
    assert walker.waiting() == ["decide_response", "notify_police_cse"]  # police always told
    answers = {"mash_rating": "red", "response": response, "reasons": "Low risk"}
    problems = refused(walker, "decide_response", answers)
    assert list(problems) == ["response"]
    assert "strategy discussion with the police" in problems["response"]


@pytest.mark.parametrize(
    "step",
    [strategy("no_further_action"), assessed("no_further_action"), assessed("step_down")],
    ids=["strategy NFA", "assessment NFA", "assessment step down"],
)
def test_a_safeguarding_referral_does_not_end_with_no_further_action(step: Do):
    before = [Do("make_referral", HARM), POLICE, decide("strategy_discussion", "red")]
    if step.element_id == "complete_assessment":
        before.append(strategy("assessment"))
    walker = Walker("referral").walk(before)
    field = "outcome" if step.element_id == "strategy_discussion" else "assessment_outcome"
    problems = refused(walker, step.element_id, step.data)
    assert list(problems) == [field]
    assert "does not end with no further action" in problems[field]


def test_the_decision_reminder_does_not_take_the_task_away():
    walker = Walker("referral").walk([Do("make_referral", NEGLECT), Timer("timer_decide")])
    assert walker.waiting() == ["decide_response"]


def test_a_challenge_carries_the_challengers_words_to_the_escalation():
    walker = walk("referral", PATHS[5])
    assert walker.thrown[0] == (
        "start_escalation",
        {
            "disputed": "Three missed school days and no food: the risk is higher than rated",
            "other_agency": "childrens_social_care",
            "wanted_outcome": "A child and family assessment",
            "immediate_risk": False,
            "source": "referral",
        },
    )


def test_a_challenged_referral_waits_for_the_outcome():
    steps = [Do("make_referral", NEGLECT), decide("no_further_action"), FEEDBACK, CHALLENGE]
    walker = Walker("referral").walk(steps)
    assert walker.waiting() == []
    assert not walker.workflow.is_completed()
    walker.walk([UPHELD])
    assert walker.waiting() == ["decide_response"]


def test_partner_details_reach_the_police_notification_and_never_the_register():
    path = PATHS[2]
    walker = Walker("referral", path.variables).walk([Do("make_referral", CSE)])
    (task,) = [
        t
        for t in open_user_tasks(walker.workflow).values()
        if t.task_spec.bpmn_id == "notify_police_cse"
    ]
    assert task.data["partner_details"] == PARTNERS
    assert _visibility(task.task_spec, "partner_details") == "step"
    entries = walk("referral", path).entries()
    assert PARTNERS not in repr(entries)


def _visibility(spec, field_id: str) -> str | None:
    """The field's ``visibility`` property (contract 3) as the diagram declares it."""
    for item in spec.form.fields:
        if item.id == field_id:
            return item.get_property("visibility")
    return None
