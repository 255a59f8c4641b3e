"""Every path of ``escalation``: resolved at a stage, or moved up by a working-day timer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.diagrams.walking import Do, Path, Timer, Walker, walk

DISAGREEMENT = {
    "other_agency": "Children's social care",
    "other_professional": "Duty social worker",
    "disputed": "Referral closed with no further action",
    "wanted_outcome": "An assessment",
    "immediate_risk": False,
}
DESCRIBED = Do("describe_disagreement", DISAGREEMENT)


def stage(n: int, resolved: bool) -> Do:
    outcome = "Assessment agreed" if resolved else "Still disputed"
    return Do(f"resolve_stage{n}", {"resolved": resolved, "resolution": outcome})


PATHS = [
    Path("resolved together at stage 1", [DESCRIBED, stage(1, True)], ends={"end_stage1"}),
    Path(
        "immediate risk: referral at once; resolved between managers",
        [
            Do("describe_disagreement", {**DISAGREEMENT, "immediate_risk": True}),
            stage(1, False),
            stage(2, True),
        ],
        ends={"end_stage2"},
        thrown=["start_referral"],
    ),
    Path(
        "not resolved in time at stages 1 and 2; resolved by senior leads",
        [DESCRIBED, Timer("timer_stage1"), Timer("timer_stage2"), stage(3, True)],
        ends={"end_stage3"},
    ),
    Path(
        "unresolved by managers, out of time with senior leads: a senior manager decides",
        [DESCRIBED, stage(1, False), stage(2, False), Timer("timer_stage3"), stage(4, True)],
        ends={"end_stage4"},
    ),
    Path(
        "late at stage 1, unresolved at stages 2 and 3: a senior manager decides",
        [DESCRIBED, Timer("timer_stage1"), stage(2, False), stage(3, False), stage(4, False)],
        ends={"end_stage4"},
    ),
]


@pytest.mark.parametrize("path", PATHS, ids=[p.id for p in PATHS])
def test_path(path: Path):
    walk("escalation", path)


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
