"""A due-time expression read when its task opens: never a failed step, never a task without a
due time. What it cannot give falls back to the shortest safe reading, ``same-day``, with a
warning naming the element (issue 15, point 4)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tasks import due
from tasks.assignment import make_task_policy

# Tue 1 Dec 2026, 10:00 GMT: the same day closes at 17:00 UTC; 2 working days is Thu 3 Dec.
TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SAME_DAY = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
TWO_DAYS = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
SHARE = "='same-day' if significant_harm or urgent else '2WD'"


def opening(due_date: str, **data) -> SimpleNamespace:
    """A user task as the engine's policy sees it when it opens."""
    spec = SimpleNamespace(bpmn_id="share_information", extensions={"due": due_date})
    workflow = SimpleNamespace(top_workflow=SimpleNamespace(data={}))
    return SimpleNamespace(id="t-1", task_spec=spec, data=data, workflow=workflow)


def due_at(task) -> datetime:
    return make_task_policy()(task, TUESDAY)["due_at"]


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"significant_harm": True, "urgent": False}, SAME_DAY),
        ({"significant_harm": False, "urgent": True}, SAME_DAY),
        ({"significant_harm": False, "urgent": False}, TWO_DAYS),
        ({"urgent": None}, TWO_DAYS),  # harm never asked on this path: reads as None
        ({}, TWO_DAYS),
    ],
)
def test_the_expression_reads_the_answers(data, expected):
    assert due_at(opening(SHARE, **data)) == expected


@pytest.mark.parametrize(
    "expression, data",
    [
        ("=rating['colour']", {}),  # None is not subscriptable
        ("='1WD' if 1 // zero else '2WD'", {"zero": 0}),
        ("='x' * 10 ** 9", {}),  # refused by the sandbox's size limits
        ("=().__class__", {}),  # would have been refused at deploy; still no escape here
        ("='soon'", {}),  # not a due time
        ("='0WD'", {}),  # out of bounds
        ("='99999999WD'", {}),  # would hold a worker counting days
        ("=5", {}),
        ("=choice", {"choice": ["1WD"]}),
    ],
)
def test_what_cannot_be_read_is_due_the_same_day_with_a_warning(expression, data, caplog):
    with caplog.at_level(logging.WARNING, logger="tasks.due"):
        assert due_at(opening(expression, **data)) == SAME_DAY
    assert any("share_information" in r.getMessage() for r in caplog.records), caplog.text


def test_a_literal_is_read_as_before():
    assert due_at(opening("2WD")) == TWO_DAYS


def test_an_anchored_task_is_noted_for_the_service_and_the_notes_stay_bounded(monkeypatch):
    monkeypatch.setattr(due, "_ANCHORED_LIMIT", 3)
    monkeypatch.setattr(due, "_ANCHORED", due.OrderedDict())
    for n in range(5):
        task = opening("45WD")
        task.id = f"task-{n}"
        task.task_spec.extensions["due_from"] = "make_referral"
        # counted from now until the service settles it from the anchor, in the same transaction
        assert due_at(task) is not None
    assert list(due._ANCHORED) == ["task-2", "task-3", "task-4"]
    assert due._ANCHORED["task-4"][:2] == ("45WD", "make_referral")
