"""Finishing a step: what every advance of an instance works out, in one routine.

A start, a completion of a cached instance and an advance of an instance read from its row (a
completion, a message, a timer, a cancel, a migration) differ in where the workflow comes from
and how the result is written. What the step produced - its status and error, the messages and
scripts, the new state, the task rows that opened, the ids that closed, and the
:class:`~workflows.events.Advance` the layers above act on - is worked out by
:func:`finish_step` for all of them, so the three paths cannot drift apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask

from storage.uow import UnitOfWork
from workflows.cache import CachedInstance, InstanceCache
from workflows.clock import Clock
from workflows.events import Advance, InstanceFacts, OpenedTask
from workflows.facts import (
    after_step,
    error_details,
    open_user_tasks,
    pending_timers,
    thrown_messages,
)
from workflows.serialization import StateSerializer
from workflows.steps import check_not_cut_short

TaskPolicy = Callable[[SpiffTask, datetime], Mapping[str, Any]]


class StepParts(Protocol):
    """What finishing a step needs of the engine (``workflows.instances.Engine``)."""

    clock: Clock
    serializer: StateSerializer
    task_policy: TaskPolicy | None


def run_step(workflow: BpmnWorkflow, step: Callable[[], None]) -> tuple[str, dict | None]:
    """Run ``step``; the instance's new status and, if a script or condition failed, why."""
    try:
        step()
        check_not_cut_short(workflow)
    except SpiffWorkflowException as err:
        return "error", error_details(err)
    return ("completed" if workflow.is_completed() else "running"), None


def task_rows(
    instance_id: str,
    after: Mapping[str, SpiffTask],
    before: set[str] | frozenset[str],
    now: datetime,
    policy: TaskPolicy | None = None,
) -> list[dict]:
    """Rows for the user tasks that opened in this step.

    ``policy`` (from the layer above) fills what the engine does not know about: the due time in
    working days, the default assignee and a second agency that may take the task.
    """
    rows = []
    for task_id, task in after.items():
        if task_id in before:
            continue
        spec = task.task_spec
        candidates = spec.extensions.get("candidate_groups") or ([spec.lane] if spec.lane else [])
        row = {
            "id": task_id,
            "instance_id": instance_id,
            "element_id": spec.bpmn_id,
            "name": spec.bpmn_name,
            "lane": spec.lane,
            "candidate_roles": list(candidates),
            "status": "open",
            "assignee": None,
            "other_agency": None,
            "due_at": None,
            "created_at": now,
            "version": 1,
        }
        if policy is not None:
            row.update(policy(task, now))
        rows.append(row)
    return rows


def waits_on_timer(workflow: BpmnWorkflow) -> bool:
    """Whether the workflow waits on a BPMN timer event (without working out when it is due)."""
    return any(
        isinstance(task.task_spec.event_definition, TimerEventDefinition)
        for task in list(workflow.event_manager.tasks.values())
    )


@dataclass(frozen=True)
class Before:
    """What a step starts from: the user tasks open and whether a BPMN timer is waited on.

    Taken before anything changes the workflow (a message sent, a cancel, a migration), so a
    timer that the change itself ends still counts as waited on before.
    """

    open_ids: frozenset[str]
    timers: bool

    @classmethod
    def of(cls, workflow: BpmnWorkflow, open_ids: frozenset[str] | None = None) -> Before:
        """``open_ids``: when already known (the cache keeps them), else read off the tree."""
        if open_ids is None:
            open_ids = frozenset(open_user_tasks(workflow))
        return cls(open_ids, waits_on_timer(workflow))


NOTHING_BEFORE = Before(frozenset(), False)  # a start


@dataclass(frozen=True)
class Finished:
    """A finished step: what to write (``state``, ``rows`` to insert, ``cancelled`` task ids)
    and what to tell (``advance``); nothing is written yet."""

    workflow: BpmnWorkflow
    state: str
    now: datetime
    rows: list[dict]
    cancelled: tuple[str, ...]
    open_ids: frozenset[str]
    advance: Advance

    @property
    def facts(self) -> InstanceFacts:
        return self.advance.instance

    def cache_on_commit(self, uow: UnitOfWork, cache: InstanceCache) -> None:
        """Put the workflow back in ``cache`` once ``uow`` commits what was written."""
        entry = CachedInstance(self.workflow, self.open_ids, self.facts)
        uow.on_commit(lambda: cache.checkin(entry))


def finish_step(
    engine: StepParts,
    workflow: BpmnWorkflow,
    step: Callable[[], None],
    before: Before,
    facts: InstanceFacts,
    completed: frozenset[str] | set[str] = frozenset(),
    status: str | None = None,
    now: datetime | None = None,
) -> Finished:
    """Run ``step`` on ``workflow`` and work out what it did.

    ``before``: how the workflow stood before the step (:class:`Before`); ``facts``: the
    instance as it will be saved, at its new row version (status, error and end are filled in
    here); ``now``: when the step runs (a start passes its ``started_at``), else the clock's;
    ``completed``: the task ids the step completed (closed, not cancelled); ``status``: the
    status the caller decides (a cancel), else the step's own.
    """
    now = now or engine.clock.now()
    since = time.time()
    outcome, error = run_step(workflow, step)
    status = status or outcome
    messages = thrown_messages(workflow)
    after, scripts = after_step(workflow, since)
    state = engine.serializer.dumps(workflow)
    rows = task_rows(facts.id, after, before.open_ids, now, engine.task_policy)
    closed = tuple(t for t in before.open_ids if t not in after)
    running = status == "running"
    last = workflow.last_task
    variables = last.data if last is not None else workflow.data
    facts = replace(facts, status=status, error=error, ended_at=None if running else now)
    advance = Advance(
        instance=facts,
        opened=tuple(OpenedTask.of_row(row) for row in rows),
        closed=closed,
        still_open=tuple(t for t in before.open_ids if t in after),
        timers=tuple(pending_timers(workflow)) if running else (),
        messages=tuple(messages),
        scripts=tuple(scripts),
        variables=MappingProxyType(dict(variables)),
        had_timers=before.timers,
    )
    return Finished(
        workflow=workflow,
        state=state,
        now=now,
        rows=rows,
        cancelled=tuple(t for t in closed if t not in completed),
        open_ids=frozenset(after),
        advance=advance,
    )
