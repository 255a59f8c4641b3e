"""Every path of ``early_help_caf``: reviews on timers, refusal weighed and monitored, every share
without consent recorded and the family told, a withdrawal weighed, a step up at any point."""

from __future__ import annotations

import pytest

from records.register import check, from_process
from tasks.forms import form_of, validate
from tests.diagrams.walking import Do, Message, Path, Timer, Walker, walk
from workflows.facts import after_step, open_user_tasks

DPA = "UK GDPR Art. 6(1)(e); Art. 9(2)(g) with DPA 2018 Sch. 1 para 18"
CSC = [{"agency": "childrens_social_care"}]
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
REFUSED = Do("seek_consent", {"consent_outcome": "refused"})
NOT_OBTAINED = Do("seek_consent", {"consent_outcome": "not_obtained"})
ASSESSED = Do(
    "complete_assessment", {"needs": "Housing, school attendance", "lead_professional": "J. Ahmed"}
)
PLANNED = Do("team_around_family", {"plan": "Attendance plan", "agencies": "school, housing"})
SUPPORTED = [EXPLAINED, GIVEN, ASSESSED, PLANNED, Timer("timer_first_review")]
INJURIES = "Repeated unexplained bruising: health must see the school's records"
TOLD = Do("inform_family", {"subject_informed": True})
NOT_TOLD = Do(
    "inform_family",
    {"subject_informed": False, "not_informed_reason": "Father would harm the child if told"},
)
WITHDRAWN = Message("consent_withdrawn", {"person": "mother", "reason": "Changed her mind"})


def review(outcome: str, **more: str) -> Do:
    return Do("review_plan", {"review_outcome": outcome, **more})


def weigh(decision: str, why: str, step: str = "proportionality_check", **more: str) -> Do:
    return Do(step, {"proportionality_decision": decision, "justification": why, **more})


def share(why: str, step: str = "proportionality_check") -> Do:
    return weigh(
        "share_without_consent",
        why,
        step,
        recipient_agency="health",
        information_shared="Attendance and injury log, autumn term",
        lawful_basis=DPA,
    )


def monitor(outcome: str, notes: str, **more: str) -> Do:
    return Do("monitor_review", {"review_outcome": outcome, "notes": notes, **more})


def shared_without_consent(status: str, recipients: list, why: str) -> dict:
    return {
        "decision": "share",
        "with_consent": False,
        "consent_status": status,
        "recipients": recipients,
        "lawful_basis": DPA,
        "reasons": why,
    }


def family_told(status: str, recipients: list, informed: bool = True) -> dict:
    """The linked entry after ``inform_family``: it adds to the share before it."""
    return {
        "adds_to": "last",
        "decision": "share",
        "consent_status": status,
        "recipients": recipients,
        "lawful_basis": DPA,
        "subject_informed": informed,
    }


HEALTH = [{"agency": "health"}]
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
        "stepped up at a review, with consent: referral started and recorded",
        [*SUPPORTED, review("step_up", step_up_reason="Neglect despite the plan")],
        ends={"end_stepped_up"},
        thrown=["start_referral"],
        entries=[
            {
                "decision": "share",
                "with_consent": True,
                "consent_status": "given",
                "recipients": CSC,
                "information_shared": "Housing, school attendance",
                "reasons": "Neglect despite the plan",
            }
        ],
    ),
    Path(
        "consent refused, serious concern: shared without consent, recorded, family told",
        [EXPLAINED, REFUSED, share(INJURIES), TOLD],
        ends={"end_family_told"},
        entries=[
            {
                **shared_without_consent("refused", HEALTH, INJURIES),
                "information_shared": "Attendance and injury log, autumn term",
                "purpose": "Safeguarding the child: consent to early help refused",
                "consent_override_reason": INJURIES,
            },
            family_told("refused", HEALTH),
        ],
    ),
    Path(
        "consent refused, low-level concern: monitored by the manager until closed",
        [
            EXPLAINED,
            REFUSED,
            weigh("respect_and_monitor", "Low-level concern"),
            monitor("continue_monitoring", "Attendance 88%, no new concerns"),
            monitor("close", "Attendance 96% for a month"),
        ],
        ends={"end_monitoring_closed"},
        entries=[
            {
                "decision": "not_share",
                "lawful_basis": None,
                "reasons": "Refusal respected, monitor: Low-level concern",
            }
        ],
    ),
    Path(
        "consent refused, monitored, concern grows: stepped up, family not told (unsafe)",
        [
            EXPLAINED,
            REFUSED,
            weigh("respect_and_monitor", "Low-level concern"),
            monitor(
                "step_up",
                "Disclosure of violence at home",
                information_shared="Disclosure and attendance record",
                lawful_basis=DPA,
            ),
            NOT_TOLD,
        ],
        ends={"end_family_told"},
        thrown=["start_referral"],
        entries=[
            {"decision": "not_share"},
            shared_without_consent("refused", CSC, "Disclosure of violence at home"),
            {
                **family_told("refused", CSC, informed=False),
                "not_informed_reason": "Father would harm the child if told",
            },
        ],
    ),
    Path(
        "consent not obtained: stepped up to a referral, recorded, family told",
        [
            EXPLAINED,
            NOT_OBTAINED,
            weigh(
                "step_up",
                "Escalating neglect",
                information_shared="Home visit notes",
                lawful_basis=DPA,
            ),
            TOLD,
        ],
        ends={"end_family_told"},
        thrown=["start_referral"],
        entries=[
            {
                **shared_without_consent("not_obtained", CSC, "Escalating neglect"),
                "information_shared": "Home visit notes",
            },
            family_told("not_obtained", CSC),
        ],
    ),
    Path(
        "consent withdrawn during the assessment: the manager respects it, the plan stops",
        [
            EXPLAINED,
            GIVEN,
            WITHDRAWN,
            weigh("respect_withdrawal", "No safeguarding concern", "withdrawal_check"),
        ],
        ends={"end_withdrawn"},
        entries=[
            {
                "decision": "not_share",
                "with_consent": False,
                "consent_status": "withdrawn",
                "recipients": [],
                "reasons": "Consent withdrawn (Changed her mind): sharing stops beyond what "
                "safeguarding requires; No safeguarding concern",
            }
        ],
    ),
    Path(
        "consent withdrawn during the plan: overridden, shared without consent, family told",
        [
            *SUPPORTED[:4],
            WITHDRAWN,
            share(INJURIES, "withdrawal_check"),
            Do("inform_family_withdrawn", TOLD.data),
        ],
        ends={"end_withdrawal_overridden"},
        entries=[
            {
                **shared_without_consent("withdrawn", HEALTH, INJURIES),
                "information_shared": "Attendance and injury log, autumn term",
            },
            family_told("withdrawn", HEALTH),
        ],
    ),
    Path(
        "consent withdrawn at a review: stepped up, referral started, family not told",
        [
            *SUPPORTED,
            WITHDRAWN,
            weigh(
                "step_up",
                "Mother's new partner has a record of violence",
                "withdrawal_check",
                information_shared="Plan, reviews and the partner's name",
                lawful_basis=DPA,
            ),
            Do("inform_family_withdrawn", NOT_TOLD.data),
        ],
        ends={"end_withdrawal_overridden"},
        thrown=["start_referral"],
        entries=[
            shared_without_consent(
                "withdrawn", CSC, "Mother's new partner has a record of violence"
            ),
            family_told("withdrawn", CSC, informed=False),
        ],
    ),
    Path(
        "step up message while the plan is being agreed, with consent: the referral takes over",
        [
            EXPLAINED,
            GIVEN,
            ASSESSED,
            Message("step_up", {"reason": "Child disclosed abuse at school"}),
        ],
        ends={"end_stepped_up_requested"},
        thrown=["start_referral"],
        entries=[
            {
                "decision": "share",
                "with_consent": True,
                "consent_status": "given",
                "recipients": CSC,
                "information_shared": "Child disclosed abuse at school",
                "reasons": "Child disclosed abuse at school",
            }
        ],
    ),
    Path(
        "step up message while the refusal is monitored: without consent, family told",
        [
            EXPLAINED,
            REFUSED,
            weigh("respect_and_monitor", "Low-level concern"),
            Message("step_up", {"reason": "Police report of domestic abuse", "lawful_basis": DPA}),
            Do("inform_family_step_up", TOLD.data),
        ],
        ends={"end_step_up_told"},
        thrown=["start_referral"],
        entries=[
            {"decision": "not_share"},
            shared_without_consent("refused", CSC, "Police report of domestic abuse"),
            family_told("refused", CSC),
        ],
    ),
    Path(
        "step up message while a withdrawal waits for the manager: without consent, family told",
        [
            EXPLAINED,
            GIVEN,
            WITHDRAWN,
            Message("step_up", {"reason": "Disclosure at school", "lawful_basis": DPA}),
            Do("inform_family_step_up", TOLD.data),
        ],
        ends={"end_step_up_told"},
        thrown=["start_referral"],
        entries=[
            shared_without_consent("withdrawn", CSC, "Disclosure at school"),
            family_told("withdrawn", CSC),
        ],
    ),
]


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_path(path: Path):
    walk("early_help_caf", path)


def test_reviews_wait_for_their_timer():
    walker = Walker("early_help_caf").walk([EXPLAINED, GIVEN, ASSESSED, PLANNED])
    assert walker.waiting() == []
    assert (walker.due("timer_first_review") - walker.clock.now()).days == 35  # five weeks
    walker.fire_timer("timer_first_review").complete("review_plan", review_outcome="continue")
    assert walker.waiting() == []
    assert (walker.due("timer_next_review") - walker.clock.now()).days == 77  # eleven weeks


def test_a_respected_refusal_keeps_the_case_open_for_the_manager():
    walker = Walker("early_help_caf").walk(PATHS[4].steps[:4])
    assert walker.waiting() == ["monitor_review"] and not walker.workflow.is_completed()
    walker.complete("monitor_review", review_outcome="continue_monitoring", notes="Seen at school")
    assert walker.waiting() == ["monitor_review"]


def test_a_withdrawal_waits_for_the_manager_before_the_plan_stops():
    walker = Walker("early_help_caf").walk([EXPLAINED, GIVEN, ASSESSED])
    assert walker.waiting() == ["team_around_family"]
    walker.deliver("consent_withdrawn", {"reason": "Moved away"})
    assert walker.waiting() == ["withdrawal_check"]  # the plan's step is gone, nothing recorded
    assert walker.entries() == []
    # the same parsed spec (shared by every instance of a version) still runs a whole plan
    later = walk("early_help_caf", PATHS[1])
    assert later.ends() == {"end_stepped_down"}


@pytest.mark.parametrize(
    ("step", "answers", "field"),
    [
        (
            "proportionality_check",
            {"proportionality_decision": "share_without_consent"},
            "lawful_basis",
        ),
        (
            "proportionality_check",
            {"proportionality_decision": "share_without_consent"},
            "recipient_agency",
        ),
        ("proportionality_check", {"proportionality_decision": "step_up"}, "information_shared"),
    ],
)
def test_sharing_without_consent_needs_what_and_on_what_basis(step, answers, field):
    walker = Walker("early_help_caf").walk([EXPLAINED, REFUSED])
    [task] = open_user_tasks(walker.workflow).values()
    _, problems = validate(form_of(task.task_spec), {**answers, "justification": "x"}, task.data)
    assert field in [p.field for p in problems]


def test_a_step_up_without_a_reason_is_refused_by_the_register():
    walker = Walker("early_help_caf").walk([EXPLAINED, GIVEN, Message("step_up", {})])
    [run] = [r for r in after_step(walker.workflow, 0)[1] if "register_entry" in r.data]
    problems = check(from_process(run.data, None))
    assert [p["field"] for p in problems] == [
        "reasons"
    ]  # the service answers 422 and keeps nothing


def test_every_step_up_hands_the_referral_its_concerns():
    stepped_up = [p for p in PATHS if p.thrown == ["start_referral"]]
    assert len(stepped_up) == 7
    for path in stepped_up:
        walker = walk("early_help_caf", path)
        [(_, payload)] = walker.thrown
        [share] = [e for e in walker.entries() if e["recipients"] == CSC and "adds_to" not in e]
        assert payload == {"concerns": share["reasons"], "source": "early_help_caf"}
