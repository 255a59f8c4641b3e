"""Every path of ``early_help_caf``: reviews on timers, refusal weighed, consent withdrawn."""

from __future__ import annotations

import pytest

from tests.diagrams.walking import Do, Message, Path, Timer, Walker, walk

EXPLAINED = Do("explain_sharing", {"explained": True, "explained_on": "2026-03-02"})
GIVEN = Do(
    "seek_consent",
    {
        "consent_outcome": "given",
        "consent_agencies": "school, health",
        "consent_purposes": "early help assessment",
        "consent_given_by": "mother",
        "consent_how": "written",
    },
)
ASSESSED = Do(
    "complete_assessment", {"needs": "Housing, school attendance", "lead_professional": "J. Ahmed"}
)
PLANNED = Do("team_around_family", {"plan": "Attendance plan", "agencies": "school, housing"})
SUPPORTED = [EXPLAINED, GIVEN, ASSESSED, PLANNED, Timer("timer_first_review")]
DPA = "Art. 9 with DPA 2018 Sch. 1 para 18"


def review(outcome: str) -> Do:
    return Do("review_plan", {"review_outcome": outcome})


def weigh(decision: str, why: str) -> Do:
    return Do("proportionality_check", {"proportionality_decision": decision, "justification": why})


PATHS = [
    Path(
        "consent given: reviewed every three months until needs are met",
        [*SUPPORTED, review("continue"), Timer("timer_next_review"), review("needs_met")],
        ends={"end_needs_met"},
    ),
    Path(
        "stepped down at the first review",
        [*SUPPORTED, review("step_down")],
        ends={"end_stepped_down"},
    ),
    Path(
        "stepped up at a review: referral started",
        [*SUPPORTED, review("step_up")],
        ends={"end_stepped_up"},
        thrown=["start_referral"],
    ),
    Path(
        "consent refused, serious concern: shared without consent and recorded",
        [
            EXPLAINED,
            Do("seek_consent", {"consent_outcome": "refused"}),
            weigh("share_without_consent", "Repeated injuries: sharing with health is necessary"),
        ],
        ends={"end_decision"},
        entries=[
            {
                "decision": "share",
                "with_consent": False,
                "consent_status": "refused",
                "reasons": "Repeated injuries: sharing with health is necessary",
                "consent_override_reason": "Repeated injuries: sharing with health is necessary",
            }
        ],
    ),
    Path(
        "consent refused, low-level concern: refusal respected and monitored",
        [
            EXPLAINED,
            Do("seek_consent", {"consent_outcome": "refused"}),
            weigh("respect_and_monitor", "Low-level concern"),
        ],
        ends={"end_decision"},
        entries=[
            {
                "decision": "not_share",
                "lawful_basis": None,
                "reasons": "Refusal respected, monitor: Low-level concern",
            }
        ],
    ),
    Path(
        "consent not obtained: stepped up to a referral",
        [
            EXPLAINED,
            Do("seek_consent", {"consent_outcome": "not_obtained"}),
            weigh("step_up", "Escalating neglect"),
        ],
        ends={"end_stepped_up_refusal"},
        thrown=["start_referral"],
    ),
    Path(
        "consent withdrawn during the assessment: the plan stops, recorded",
        [
            EXPLAINED,
            GIVEN,
            Message("consent_withdrawn", {"person": "mother", "reason": "Changed her mind"}),
        ],
        ends={"end_withdrawn"},
        entries=[
            {
                "decision": "not_share",
                "with_consent": False,
                "consent_status": "withdrawn",
                "reasons": "Consent withdrawn (Changed her mind): sharing stops beyond what "
                "safeguarding requires",
            }
        ],
    ),
]


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_path(path: Path):
    walk("early_help_caf", path)


def test_a_share_without_consent_names_its_lawful_basis():
    [entry] = walk("early_help_caf", PATHS[3]).entries()
    assert DPA in entry["lawful_basis"]


def test_reviews_wait_for_their_timer():
    walker = Walker("early_help_caf").walk([EXPLAINED, GIVEN, ASSESSED, PLANNED])
    assert walker.waiting() == []
    assert (walker.due("timer_first_review") - walker.clock.now()).days == 35  # five weeks
    walker.fire_timer("timer_first_review").complete("review_plan", review_outcome="continue")
    assert walker.waiting() == []
    assert (walker.due("timer_next_review") - walker.clock.now()).days == 77  # eleven weeks


def test_a_withdrawal_stops_the_plan_and_leaves_later_instances_alone():
    walker = Walker("early_help_caf").walk([EXPLAINED, GIVEN, ASSESSED])
    assert walker.waiting() == ["team_around_family"]
    walker.deliver("consent_withdrawn", {"reason": "Moved away"})
    assert walker.waiting() == [] and walker.workflow.is_completed()
    # the same parsed spec (shared by every instance of a version) still runs a whole plan
    later = walk("early_help_caf", PATHS[1])
    assert later.ends() == {"end_stepped_down"}
