"""Every path of ``escalation``: resolved at a stage, or moved up by a working-day timer; each
end throws ``escalation_outcome`` (delivered by the service to a referral that waits for it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from tests.diagrams.walking import Do, Path, Timer, Walker, walk

DISAGREEMENT = {
    "other_agency": "health",
    "other_professional": "Health visitor, Eastgate team",
    "disputed": "Health will not attend the strategy discussion about the child's bruising",
    "wanted_outcome": "Health attends and shares the growth and attendance records",
    "immediate_risk": False,
}
DESCRIBED = Do("describe_disagreement", DISAGREEMENT)
AT_RISK = Do("describe_disagreement", {**DISAGREEMENT, "immediate_risk": True})
# An escalation started from a challenged referral (contract 6): the start payload.
CHALLENGE = {
    "disputed": "No further action although the child disclosed being hit at home",
    "other_agency": "childrens_social_care",
    "wanted_outcome": "A child and family assessment",
    "immediate_risk": False,
    "source": "referral",
}
CHALLENGED = Do("describe_disagreement", {k: v for k, v in CHALLENGE.items() if k != "source"})

AGREED = "Health visitor attends on Thursday and brings the records"
STILL_DISPUTED = "Health still say the case is not theirs"


def stage(n: int, resolved: bool, **more) -> Do:
    outcome = AGREED if resolved else STILL_DISPUTED
    answers = {"resolved": resolved, "resolution": outcome, **more}
    if n == 3:
        answers.setdefault("escalation_notice", f"Stage 3 notice: {STILL_DISPUTED}")
    return Do(f"resolve_stage{n}", answers)


def outcome(stage_n: int, upheld: bool = False, resolution: str = AGREED) -> dict:
    return {"upheld": upheld, "resolution": resolution, "stage": stage_n}


@dataclass(frozen=True)
class Row:
    """A path and the payloads its thrown messages carry, in order."""

    path: Path
    payloads: list[dict] = field(default_factory=list)


ROWS = [
    Row(
        Path(
            "resolved together at stage 1",
            [DESCRIBED, stage(1, True)],
            ends={"end_stage1"},
            thrown=["escalation_outcome"],
        ),
        [outcome(1)],
    ),
    Row(
        Path(
            "immediate risk: referral at once; resolved between managers",
            [AT_RISK, stage(1, False), stage(2, True)],
            ends={"end_stage2"},
            thrown=["start_referral", "escalation_outcome"],
        ),
        [
            {
                "concerns": DISAGREEMENT["disputed"],
                "other_agency": "health",
                "source": "escalation",
            },
            outcome(2),
        ],
    ),
    Row(
        Path(
            "not resolved in time at stages 1 and 2; resolved by senior leads with a notice",
            [DESCRIBED, Timer("timer_stage1"), Timer("timer_stage2"), stage(3, True)],
            ends={"end_stage3"},
            thrown=["escalation_outcome"],
        ),
        [outcome(3)],
    ),
    Row(
        Path(
            "unresolved by managers, out of time with senior leads: a senior manager decides",
            [DESCRIBED, stage(1, False), stage(2, False), Timer("timer_stage3"), stage(4, True)],
            ends={"end_stage4"},
            thrown=["escalation_outcome"],
        ),
        [outcome(4)],
    ),
    Row(
        Path(
            "late at stage 1, unresolved at stages 2 and 3: a senior manager decides, unresolved",
            [DESCRIBED, Timer("timer_stage1"), stage(2, False), stage(3, False), stage(4, False)],
            ends={"end_stage4"},
            thrown=["escalation_outcome"],
        ),
        [outcome(4, resolution=STILL_DISPUTED)],
    ),
    Row(
        Path(
            "a challenged referral: the challenge is upheld between managers",
            [CHALLENGED, stage(1, False), stage(2, True, challenge_upheld=True)],
            ends={"end_stage2"},
            thrown=["escalation_outcome"],
            variables=CHALLENGE,
        ),
        [outcome(2, upheld=True)],
    ),
    Row(
        Path(
            "a challenged referral: the practitioners agree the decision stands",
            [CHALLENGED, stage(1, True, challenge_upheld=False)],
            ends={"end_stage1"},
            thrown=["escalation_outcome"],
            variables=CHALLENGE,
        ),
        [outcome(1, upheld=False)],
    ),
]


PATHS = [r.path for r in ROWS]  # for the flow-coverage check (tests/diagrams/tables.py)


@pytest.mark.parametrize("row", ROWS, ids=[r.path.id for r in ROWS])
def test_path(row: Row):
    walker = walk("escalation", row.path)
    assert [payload for _, payload in walker.thrown] == row.payloads


def test_stage_timers_count_working_days_and_interrupt_the_stage():
    walker = Walker("escalation").walk([DESCRIBED])  # Monday 2 March 2026, 09:30
    london_close = datetime(2026, 3, 3, 17, 0, tzinfo=UTC)  # GMT in March: 17:00 London
    assert walker.due("timer_stage1") == london_close
    walker.fire_timer("timer_stage1")
    assert walker.waiting() == ["resolve_stage2"]  # stage 1 was interrupted
    walker.complete("resolve_stage2", resolved=False, resolution="Managers disagree")
    # 5 working days from Tuesday 3 March: Tuesday 10 March, close of day
    assert walker.due("timer_stage3") == datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
    walker.clock.set(datetime(2026, 3, 10, 16, 59, tzinfo=UTC))
    walker.workflow.refresh_timers()
    walker.workflow.do_engine_steps()
    assert walker.waiting() == ["resolve_stage3"]  # not yet due


def test_a_challenge_from_a_referral_must_say_whether_it_is_upheld():
    walker = Walker("escalation", CHALLENGE).walk([CHALLENGED])
    with pytest.raises(AssertionError, match="challenge_upheld"):
        walker.complete("resolve_stage1", resolved=True, resolution=AGREED)
    # unresolved, or raised by a practitioner, the question does not arise
    walker.complete("resolve_stage1", resolved=False, resolution=STILL_DISPUTED)
    assert walker.waiting() == ["resolve_stage2"]


def test_the_other_agency_is_one_of_the_agency_vocabulary():
    walker = Walker("escalation")
    with pytest.raises(AssertionError, match="other_agency"):
        walker.complete(
            "describe_disagreement", **{**DISAGREEMENT, "other_agency": "Duty social worker"}
        )


def test_stage_3_needs_a_written_escalation_notice():
    walker = Walker("escalation").walk([DESCRIBED, Timer("timer_stage1"), Timer("timer_stage2")])
    with pytest.raises(AssertionError, match="escalation_notice"):
        walker.complete("resolve_stage3", resolved=True, resolution=AGREED)
