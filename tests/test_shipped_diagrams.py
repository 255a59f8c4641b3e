"""The diagrams shipped in bpmn/: each validates and runs from start to an end along real paths."""

from __future__ import annotations

from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from workflows.sandbox import make_script_engine
from workflows.simulation import simulate
from workflows.state import open_user_tasks
from workflows.validation import validate

BPMN = Path(__file__).resolve().parent.parent / "bpmn"

# camunda:formField and camunda:value ids are checked as document-wide ids by the validator, so
# the contract's shared field ids (resolved/resolution on every escalation stage, outcome on two
# referral tasks, enum values such as no_further_action and step_up) are refused today.


def parsed(name: str):
    return validate((BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")


def run(name: str, path: list[tuple[str, dict]], variables: dict | None = None) -> dict:
    definition = parsed(name)
    steps = [{"element_id": element_id, "data": data} for element_id, data in path]
    result = simulate(
        definition.spec,
        definition.subprocess_specs,
        make_script_engine(),
        steps,
        variables or {"child_id": "C-1001"},
    )
    assert result["error"] is None, result["error"]
    return result


class Walker:
    """A workflow driven by hand, for what simulate does not show: dict data, events, timers."""

    def __init__(self, name: str):
        definition = parsed(name)
        self.workflow = BpmnWorkflow(
            definition.spec, definition.subprocess_specs, script_engine=make_script_engine()
        )
        self.workflow.do_engine_steps()
        self.thrown: list[tuple[str, dict]] = []

    def waiting(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in open_user_tasks(self.workflow).values())

    def complete(self, element_id: str, **data) -> Walker:
        tasks = [
            t for t in open_user_tasks(self.workflow).values() if t.task_spec.bpmn_id == element_id
        ]
        assert tasks, f"{element_id} is not waiting; waiting: {self.waiting()}"
        tasks[0].set_data(**data)
        tasks[0].run()
        self.workflow.do_engine_steps()
        return self

    def fire_timer(self, element_id: str) -> Walker:
        timers = [
            t
            for t in self.workflow.get_tasks(state=TaskState.WAITING)
            if t.task_spec.bpmn_id == element_id
            and isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
        ]
        assert timers, f"timer {element_id} is not waiting"
        for timer in timers:
            timer.internal_data["event_fired"] = True
        self.workflow.refresh_timers()
        self.workflow.do_engine_steps()
        return self

    def messages(self) -> list[tuple[str, dict]]:
        """Messages thrown so far (``get_events`` hands each event out once)."""
        self.thrown += [
            (event.event_definition.name, event.payload["payload"])
            for event in self.workflow.get_events()
        ]
        return self.thrown

    @property
    def data(self) -> dict:
        return self.workflow.last_task.data


# ---------------------------------------------------------------- information_sharing

REQUEST = {
    "information": "Bruising seen at school; the child said her stepfather hits her",
    "recipient_agency": "childrens_social_care",
    "recipient_person": "MASH duty social worker",
    "purpose": "Protect the child from harm",
    "urgent": True,
    "legitimate_purpose": "yes",
    "identifies_living_person": True,
    "confidential": True,
}
CHECK = {
    "significant_harm": True,
    "prevent_serious_crime": False,
    "cse_concern": False,
    "child_age": 9,
    "sexual_activity": False,
    "consent_unsafe": False,
    "in_doubt": False,
}
SHARE = {
    "information_shared": "Account of the bruising and the child's words",
    "method": "secure_portal",
    "necessary_and_proportionate": True,
}
TOLD = {"subject_informed": True}


def test_information_sharing_consent_refused_but_safeguarding_share_starts_a_referral():
    result = run(
        "information_sharing",
        [
            ("describe_request", REQUEST),
            ("safeguarding_check", CHECK),
            ("seek_consent", {"consent_outcome": "refused"}),
            ("share_information", {**SHARE, "lawful_basis": "Art. 6(1)(e)"}),
            ("inform_family", TOLD),
        ],
    )
    assert result["completed"] is True
    assert "throw_referral" in result["reached"]
    assert result["reached"][-1] == "end_shared"

    walker = Walker("information_sharing")
    walker.complete("describe_request", **REQUEST).complete("safeguarding_check", **CHECK)
    walker.complete("seek_consent", consent_outcome="refused").complete(
        "share_information", **SHARE
    )
    assert walker.data["register_entry"]["decision"] == "share"
    assert walker.data["register_entry"]["with_consent"] is False
    assert "DPA 2018" in walker.data["register_entry"]["lawful_basis"]
    walker.complete("inform_family", **TOLD)
    assert walker.workflow.is_completed()
    # the start_referral message is thrown (nothing in this diagram catches it) with a payload
    # that can prefill make_referral
    assert walker.messages() == [
        (
            "start_referral",
            {
                "concerns": REQUEST["information"],
                "cse_concern": False,
                "under_13_sexual_activity": False,
                "source": "information_sharing",
            },
        )
    ]


def test_information_sharing_with_consent_no_referral():
    check = {**CHECK, "significant_harm": False}
    walker = Walker("information_sharing")
    walker.complete("describe_request", **REQUEST).complete("safeguarding_check", **check)
    walker.complete("seek_consent", consent_outcome="given").complete("share_information", **SHARE)
    assert walker.data["register_entry"]["decision"] == "share"
    assert walker.data["register_entry"]["with_consent"] is True
    walker.complete("inform_family", **TOLD)
    assert walker.workflow.is_completed()
    assert walker.messages() == []


def test_information_sharing_refusal_respected_when_not_a_safeguarding_share():
    check = {**CHECK, "significant_harm": False}
    result = run(
        "information_sharing",
        [
            ("describe_request", REQUEST),
            ("safeguarding_check", check),
            ("seek_consent", {"consent_outcome": "not_obtained"}),
        ],
    )
    assert result["completed"] is True
    assert result["reached"][-1] == "end_not_shared"
    assert "share_information" not in result["reached"]

    walker = Walker("information_sharing")
    walker.complete("describe_request", **REQUEST).complete("safeguarding_check", **check)
    walker.complete("seek_consent", consent_outcome="not_obtained")
    assert walker.data["register_entry"]["decision"] == "not_share"
    assert walker.workflow.is_completed()


def test_information_sharing_no_legitimate_purpose_is_recorded_as_not_share():
    walker = Walker("information_sharing")
    walker.complete("describe_request", **{**REQUEST, "legitimate_purpose": "no"})
    assert walker.workflow.is_completed()
    assert walker.data["register_entry"]["decision"] == "not_share"
    assert "legitimate purpose" in walker.data["register_entry"]["reasons"]


def test_information_sharing_not_confidential_goes_straight_to_sharing():
    request = {**REQUEST, "confidential": False}
    walker = Walker("information_sharing")
    walker.complete("describe_request", **request)
    assert walker.waiting() == ["share_information"]
    walker.complete("share_information", **SHARE)
    assert walker.data["register_entry"]["decision"] == "share"
    walker.complete("inform_family", **TOLD)
    assert walker.workflow.is_completed()


def test_information_sharing_in_doubt_asks_for_advice_and_consent_unsafe_skips_consent():
    check = {**CHECK, "in_doubt": True, "consent_unsafe": True}
    walker = Walker("information_sharing")
    walker.complete("describe_request", **REQUEST).complete("safeguarding_check", **check)
    assert walker.waiting() == ["give_advice"]
    walker.complete("give_advice", advice="Share with CSC today", advice_outcome="share")
    assert walker.waiting() == ["share_information"]
    walker.complete("share_information", **SHARE)
    entry = walker.data["register_entry"]
    assert (entry["decision"], entry["with_consent"]) == ("share", False)
    assert "risk" in entry["reasons"]
    walker.complete("inform_family", subject_informed=False, not_informed_reason="unsafe")
    assert walker.workflow.is_completed()


def test_information_sharing_advice_not_to_share_when_purpose_unsure():
    request = {**REQUEST, "legitimate_purpose": "unsure", "confidential": False}
    walker = Walker("information_sharing")
    walker.complete("describe_request", **request)
    assert walker.waiting() == ["give_advice"]
    walker.complete(
        "give_advice", advice="The aim can be met without it", advice_outcome="do_not_share"
    )
    assert walker.workflow.is_completed()
    assert walker.data["register_entry"]["decision"] == "not_share"


# ---------------------------------------------------------------- early_help_caf

EXPLAINED = {"explained": True, "explained_on": "2025-03-03"}


def test_early_help_with_consent_reviews_until_needs_met():
    walker = Walker("early_help_caf")
    walker.complete("explain_sharing", **EXPLAINED)
    walker.complete("seek_consent", consent_outcome="given", consent_agencies="school, health")
    assert walker.data["consent_entry"]["agencies"] == "school, health"
    walker.complete(
        "complete_assessment", needs="Housing, school attendance", lead_professional="J. Ahmed"
    )
    walker.complete("team_around_family", plan="Attendance plan", agencies="school, housing")
    assert walker.waiting() == []  # waiting for the first review
    walker.fire_timer("timer_first_review")
    walker.complete("review_plan", review_outcome="continue")
    assert walker.waiting() == []
    walker.fire_timer("timer_next_review")
    walker.complete("review_plan", review_outcome="needs_met")
    assert walker.workflow.is_completed()


def test_early_help_consent_refused_proportionality_step_up():
    result = run(
        "early_help_caf",
        [
            ("explain_sharing", EXPLAINED),
            ("seek_consent", {"consent_outcome": "refused"}),
            (
                "proportionality_check",
                {"proportionality_decision": "step_up", "justification": "Escalating neglect"},
            ),
        ],
    )
    assert result["completed"] is True
    assert "throw_step_up_refusal" in result["reached"]


def test_early_help_refusal_respected_is_recorded():
    walker = Walker("early_help_caf")
    walker.complete("explain_sharing", **EXPLAINED).complete(
        "seek_consent", consent_outcome="refused"
    )
    walker.complete(
        "proportionality_check",
        proportionality_decision="respect_and_monitor",
        justification="Low-level concern",
    )
    assert walker.workflow.is_completed()
    assert walker.data["register_entry"]["decision"] == "not_share"


# ---------------------------------------------------------------- referral

REFERRAL = {
    "concerns": "Child missing overnight twice this month",
    "threshold_level": "child_protection",
    "cse_concern": True,
    "family_aware": True,
}
DECIDED = {"mash_rating": "red", "reasons": "Risk of exploitation"}


def test_referral_strategy_discussion_to_conference_with_police_notified():
    result = run(
        "referral",
        [
            ("make_referral", REFERRAL),
            ("notify_police_cse", {"notified": True, "police_reference": "CH-123"}),
            ("decide_response", {**DECIDED, "response": "strategy_discussion"}),
            ("feedback_to_referrer", {"feedback": "Strategy discussion held today"}),
            ("accept_or_challenge", {"referrer_response": "accept"}),
            ("strategy_discussion", {"outcome": "section_47", "attendees": "police, health"}),
            ("initial_conference", {"outcome": "child_protection_plan"}),
        ],
    )
    assert result["completed"] is True
    assert {"end_police", "end_accepted", "end_conference"} <= set(result["reached"])


def test_referral_without_optional_answers_skips_police_and_challenge_starts_escalation():
    walker = Walker("referral")
    walker.complete(
        "make_referral",
        concerns="Neglect",
        threshold_level="child_in_need",
        family_aware=False,
    )
    assert walker.waiting() == ["decide_response"]
    walker.complete("decide_response", mash_rating="green", response="assessment", reasons="s17")
    walker.complete("feedback_to_referrer", feedback="Assessment under way")
    walker.complete(
        "accept_or_challenge", referrer_response="challenge", challenge_reason="Too slow"
    )
    assert (
        "start_escalation",
        {"disputed": "s17", "other_agency": "childrens_social_care", "source": "referral"},
    ) in walker.messages()
    assert walker.waiting() == ["complete_assessment"]
    walker.complete("complete_assessment", assessment_outcome="step_down")
    assert walker.workflow.is_completed()
    assert [name for name, _ in walker.messages()] == ["start_escalation", "start_early_help"]


def test_referral_decision_reminder_does_not_cancel_the_task():
    walker = Walker("referral")
    walker.complete("make_referral", concerns="x", threshold_level="targeted", family_aware=True)
    walker.fire_timer("timer_decide")
    assert walker.waiting() == ["decide_response"]
    walker.complete(
        "decide_response", mash_rating="blue", response="no_further_action", reasons="x"
    )
    walker.complete("feedback_to_referrer", feedback="Signposted")
    walker.complete("accept_or_challenge", referrer_response="accept")
    assert walker.workflow.is_completed()


# ---------------------------------------------------------------- escalation

DISAGREEMENT = {
    "other_agency": "Children's social care",
    "disputed": "Referral closed with no further action",
    "wanted_outcome": "An assessment",
    "immediate_risk": False,
}


def test_escalation_resolved_at_stage_one():
    result = run(
        "escalation",
        [
            ("describe_disagreement", DISAGREEMENT),
            ("resolve_stage1", {"resolved": True, "resolution": "Assessment agreed"}),
        ],
    )
    assert result["completed"] is True
    assert result["reached"][-1] == "end_stage1"


def test_escalation_moves_up_by_timer_and_decision_to_the_board():
    walker = Walker("escalation")
    walker.complete("describe_disagreement", **{**DISAGREEMENT, "immediate_risk": True})
    assert [name for name, _ in walker.messages()] == ["start_referral"]
    walker.fire_timer("timer_stage1")
    assert walker.waiting() == ["resolve_stage2"]
    walker.complete("resolve_stage2", resolved=False, resolution="Managers disagree")
    walker.fire_timer("timer_stage3")
    assert walker.waiting() == ["resolve_stage4"]
    walker.complete("resolve_stage4", resolved=True, resolution="Board: assess")
    assert walker.workflow.is_completed()
