"""Every path of ``referral``: police notified or not, each response, accepted or challenged."""

from __future__ import annotations

import pytest

from tests.diagrams.walking import Do, Path, Timer, Walker, walk

CSE = {
    "concerns": "Child missing overnight twice this month, older adults seen collecting her",
    "threshold_level": "child_protection",
    "cse_concern": True,
    "missing_from_home": True,
    "family_aware": True,
}
NEGLECT = {
    "concerns": "Neglect: no food at home",
    "threshold_level": "child_in_need",
    "family_aware": False,
}
POLICE = Do("notify_police_cse", {"notified": True, "police_reference": "CH-123"})
FEEDBACK = Do("feedback_to_referrer", {"feedback": "Outcome explained by phone"})
ACCEPT = Do("accept_or_challenge", {"referrer_response": "accept"})
CHALLENGE = Do(
    "accept_or_challenge",
    {"referrer_response": "challenge", "challenge_reason": "The risk is higher than rated"},
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


PATHS = [
    Path(
        "CSE: police told; strategy discussion, s47, conference",
        [
            Do("make_referral", CSE),
            POLICE,
            decide("strategy_discussion", "red"),
            FEEDBACK,
            ACCEPT,
            strategy("section_47"),
            Do("initial_conference", {"outcome": "child_protection_plan"}),
        ],
        ends={"end_police", "end_accepted", "end_conference"},
    ),
    Path(
        "assessment challenged: escalation started; stepped down to early help",
        [
            Do("make_referral", NEGLECT),
            decide("assessment", "green"),
            FEEDBACK,
            CHALLENGE,
            assessed("step_down"),
        ],
        ends={"end_no_police", "end_challenged", "end_assessed_stepped_down"},
        thrown=["start_escalation", "start_early_help"],
    ),
    Path(
        "not decided in a working day: reminder; no further action",
        [
            Do("make_referral", NEGLECT),
            Timer("timer_decide"),
            decide("no_further_action", "blue"),
            FEEDBACK,
            ACCEPT,
        ],
        ends={"end_no_police", "end_reminder", "end_nfa", "end_accepted"},
    ),
    Path(
        "stepped down to early help at once",
        [Do("make_referral", NEGLECT), decide("early_help", "green"), FEEDBACK, ACCEPT],
        ends={"end_no_police", "end_stepped_down", "end_accepted"},
        thrown=["start_early_help"],
    ),
    Path(
        "strategy discussion decides on an assessment: child in need plan",
        [
            Do("make_referral", CSE),
            POLICE,
            decide("strategy_discussion", "red"),
            FEEDBACK,
            ACCEPT,
            strategy("assessment"),
            assessed("child_in_need_plan"),
        ],
        ends={"end_police", "end_accepted", "end_cin"},
    ),
    Path(
        "strategy discussion: no further action",
        [
            Do("make_referral", CSE),
            POLICE,
            decide("strategy_discussion"),
            FEEDBACK,
            ACCEPT,
            strategy("no_further_action"),
        ],
        ends={"end_police", "end_accepted", "end_strategy_nfa"},
    ),
    Path(
        "assessment finds s47 concerns: strategy discussion, conference, no plan",
        [
            Do("make_referral", NEGLECT),
            decide("assessment"),
            FEEDBACK,
            ACCEPT,
            assessed("strategy_discussion"),
            strategy("section_47"),
            Do("initial_conference", {"outcome": "no_plan"}),
        ],
        ends={"end_no_police", "end_accepted", "end_conference"},
    ),
    Path(
        "assessment: no further action",
        [
            Do("make_referral", NEGLECT),
            decide("assessment"),
            FEEDBACK,
            ACCEPT,
            assessed("no_further_action"),
        ],
        ends={"end_no_police", "end_accepted", "end_assessed_nfa"},
    ),
]


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_path(path: Path):
    walk("referral", path)


def test_the_decision_reminder_does_not_take_the_task_away():
    walker = Walker("referral").walk([Do("make_referral", NEGLECT), Timer("timer_decide")])
    assert walker.waiting() == ["decide_response"]


def test_a_challenge_carries_the_dispute_to_the_escalation():
    walker = walk("referral", PATHS[1])
    assert walker.thrown[0] == (
        "start_escalation",
        {
            "disputed": "MASH decision: assessment",
            "other_agency": "childrens_social_care",
            "source": "referral",
        },
    )
