"""Walking a shipped diagram in memory, step by step, and what a walk leaves behind.

A :class:`Walker` runs a diagram of ``bpmn/`` on a real SpiffWorkflow workflow with the service's
script helpers (working-day arithmetic) and a :class:`FrozenClock`, so a timer fires when the
clock reaches its due time, as it would in the service. A walk reports the end events reached,
the sharing-register entries the service would write (built with the register's own
``from_process`` and checked with its ``check``), the messages thrown (instances the service
starts) and the sequence flows taken (for the coverage check). Answers go through the form
check the service runs (``tasks.forms.validate``), so a path cannot take a branch no
practitioner could reach.

A path is a table row: a list of steps (:class:`Do`, :class:`Refused`, :class:`Timer`,
:class:`Message`, :class:`Wait`) and what it must produce (:class:`Path`). A linked register entry
(the script's ``register_entry`` says ``'adds_to': 'last'``) is listed with ``follows``: the number
of the entry it adds to, counting the walk's entries from 1 as a fresh register would number them
(``None`` for an entry that follows none).

Due times: the walker notes, on its clock, when each user task opened and each step was
completed, so :meth:`Walker.task_due` gives a waiting task's due time as the service would (the
diagram's due time or expression, counted from its ``due_from`` anchor or from when it opened);
:class:`Wait` (or :meth:`Walker.at`) moves the clock between steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path as FilePath
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from records.register import ENTRY_KEY, check, from_process
from tasks.calendar import DEFAULT_CALENDAR, script_helpers
from tasks.due import due_form, due_from, due_time
from tasks.forms import form_of
from tasks.forms import validate as validate_form
from workflows.clock import FrozenClock
from workflows.facts import after_step, open_user_tasks, pending_timers, thrown_messages
from workflows.parsing import NSMAP
from workflows.sandbox import make_script_engine
from workflows.validation import ParsedDefinition, validate

BPMN = FilePath(__file__).resolve().parents[2] / "bpmn"
SHIPPED = ("information_sharing", "early_help_caf", "referral", "escalation")
MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a working Monday morning
REACHED = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED


@cache
def parsed(name: str) -> ParsedDefinition:
    """Parsed once and shared by every walk, as the service shares a version's spec."""
    return validate((BPMN / f"{name}.bpmn").read_bytes(), f"{name}.bpmn", conventions=True)


@cache
def flows(name: str) -> dict[tuple[str, str], str]:
    """``(source, target) -> sequenceFlow id`` of a shipped diagram."""
    root = etree.parse(str(BPMN / f"{name}.bpmn")).getroot()
    result = {}
    for flow in root.xpath("//bpmn:sequenceFlow", namespaces=NSMAP):
        pair = (flow.get("sourceRef"), flow.get("targetRef"))
        assert pair not in result, f"{name}: two flows from {pair[0]} to {pair[1]}"
        result[pair] = flow.get("id")
    return result


@dataclass(frozen=True)
class Do:
    """Complete the waiting user task ``element_id`` with ``data``."""

    element_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """Answer the waiting user task ``element_id`` with ``data`` and expect the form to refuse
    it, naming exactly ``fields``; the task stays waiting, as after a 422."""

    element_id: str
    data: dict[str, Any]
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Timer:
    """Move the clock to the due time of the pending timer event ``element_id``."""

    element_id: str


@dataclass(frozen=True)
class Message:
    """Deliver the message ``name`` to the instance, as the service does."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    """Move the walker's clock forward to ``until`` before the next step (nothing fires)."""

    until: datetime


@dataclass(frozen=True)
class Path:
    """One row of a path table: the steps and what a walk along them must produce."""

    id: str
    steps: list[Do | Refused | Timer | Message | Wait]
    ends: set[str]
    entries: list[dict[str, Any]] = field(default_factory=list)  # subsets of register entries
    thrown: list[str] = field(default_factory=list)  # names of the messages thrown, in order
    variables: dict[str, Any] = field(default_factory=dict)


class Walker:
    """A workflow of a shipped diagram driven by hand."""

    def __init__(
        self, name: str, variables: dict[str, Any] | None = None, start: datetime = MONDAY
    ):
        definition = parsed(name)
        self.name = name
        self.clock = FrozenClock(start)
        self.started_at = start
        self.opened_at: dict[str, datetime] = {}  # user task id -> when it opened
        self.completed_at: dict[str, datetime] = {}  # element id -> when last completed
        engine = make_script_engine(self.clock, script_helpers())
        self.workflow = BpmnWorkflow(
            definition.spec, definition.subprocess_specs, script_engine=engine
        )
        variables = {"child_id": "C-1001", **(variables or {})}
        self.workflow.data.update(variables)
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        self.thrown: list[tuple[str, dict]] = []
        self._step()

    def _step(self) -> None:
        self.workflow.do_engine_steps()
        self.thrown += [(m.name, m.payload) for m in thrown_messages(self.workflow)]
        for task_id in open_user_tasks(self.workflow):
            self.opened_at.setdefault(task_id, self.clock.now())

    def at(self, when: datetime) -> Walker:
        """Move the clock to ``when`` (never back): the next steps happen then."""
        assert when >= self.clock.now(), f"the clock does not go back to {when}"
        self.clock.set(when)
        return self

    def task_due(self, element_id: str) -> datetime | None:
        """The due time the service gives the waiting user task ``element_id``: its form
        (literal or expression, ``tasks.due.due_form``) counted from its ``due_from`` anchor as
        this walk completed it, else from when the task opened."""
        tasks = [
            (task_id, t)
            for task_id, t in open_user_tasks(self.workflow).items()
            if t.task_spec.bpmn_id == element_id
        ]
        assert tasks, f"{element_id} is not waiting; waiting: {self.waiting()}"
        task_id, task = tasks[0]
        step = due_from(task)
        anchor = self.started_at if step == "start" else self.completed_at.get(step or "")
        return due_time(due_form(task), anchor or self.opened_at[task_id], DEFAULT_CALENDAR)

    def waiting(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in open_user_tasks(self.workflow).values())

    def _waiting_task(self, element_id: str):
        tasks = [
            t for t in open_user_tasks(self.workflow).values() if t.task_spec.bpmn_id == element_id
        ]
        assert tasks, f"{element_id} is not waiting; waiting: {self.waiting()}"
        return tasks[0]

    def problems(self, element_id: str, **data: Any) -> list:
        """What the service's form check says of these answers (nothing runs)."""
        task = self._waiting_task(element_id)
        return validate_form(form_of(task.task_spec), data, task.data)[1]

    def complete(self, element_id: str, **data: Any) -> Walker:
        task = self._waiting_task(element_id)
        # the form check the service runs before the engine: only realistic answers get through
        cleaned, problems = validate_form(form_of(task.task_spec), data, task.data)
        assert problems == [], (element_id, problems)
        task.set_data(**cleaned)
        self.completed_at[element_id] = self.clock.now()
        task.run()
        self._step()
        return self

    def refuse(self, element_id: str, data: dict[str, Any], fields: tuple[str, ...]) -> Walker:
        problems = self.problems(element_id, **data)
        assert sorted(p.field for p in problems) == sorted(fields), (element_id, problems)
        assert element_id in self.waiting()
        return self

    def due(self, element_id: str) -> datetime:
        dues = [t.due_at for t in pending_timers(self.workflow) if t.element_id == element_id]
        assert dues, f"timer {element_id} is not pending"
        return min(dues)

    def fire_timer(self, element_id: str) -> Walker:
        self.clock.set(max(self.clock.now(), self.due(element_id)))
        self.workflow.refresh_timers()
        self._step()
        return self

    def deliver(self, name: str, payload: dict[str, Any] | None = None) -> Walker:
        variable = name.replace("-", "_")
        event = BpmnEvent(
            MessageEventDefinition(name), payload={"payload": payload or {}, "result_var": variable}
        )
        self.workflow.send_event(event)
        self._step()
        return self

    def walk(self, steps: list[Do | Refused | Timer | Message | Wait]) -> Walker:
        for step in steps:
            if isinstance(step, Wait):
                self.at(step.until)
            elif isinstance(step, Do):
                self.complete(step.element_id, **step.data)
            elif isinstance(step, Refused):
                self.refuse(step.element_id, step.data, step.fields)
            elif isinstance(step, Timer):
                self.fire_timer(step.element_id)
            else:
                self.deliver(step.name, step.payload)
        return self

    @property
    def data(self) -> dict:
        return self.workflow.last_task.data

    def ends(self) -> set[str]:
        return {
            t.task_spec.bpmn_id
            for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
            if isinstance(t.task_spec, EndEvent)
        }

    def entries(self) -> list[dict[str, Any]]:
        """The sharing-register entries the service would write for this walk, checked; a
        linked entry (``'adds_to': 'last'``) gets ``follows``, the number of the one before."""
        advised = "dsl-on-duty" if self._reached("give_advice") else None
        result = []
        for run in after_step(self.workflow, 0)[1]:
            # as the service does: only an entry the script itself produced, not one carried on
            if run.produced(ENTRY_KEY) is not None:
                entry = from_process(run.data, advised)
                assert check(entry) == [], (run.element_id, check(entry))
                linked = entry.get("adds_to") == "last"
                assert not linked or result, f"{run.element_id}: nothing to add to"
                entry["follows"] = len(result) if linked else None
                result.append(entry)
        return result

    def _reached(self, element_id: str) -> bool:
        return any(
            t.task_spec.bpmn_id == element_id
            for t in self.workflow.get_tasks(state=TaskState.COMPLETED)
        )

    def flows_taken(self) -> set[str]:
        """Sequence flows taken: each reached task and the nearest BPMN element above it."""
        known, taken = flows(self.name), set()
        for task in self.workflow.get_tasks(state=REACHED):
            target = getattr(task.task_spec, "bpmn_id", None)
            parent = task.parent
            while parent is not None and getattr(parent.task_spec, "bpmn_id", None) is None:
                parent = parent.parent
            if target is None or parent is None:
                continue
            flow = known.get((parent.task_spec.bpmn_id, target))
            if flow is not None:
                taken.add(flow)
        return taken


def walk(name: str, path: Path) -> Walker:
    """Walk ``path`` and assert what the table row says it produces."""
    walker = Walker(name, path.variables).walk(path.steps)
    assert walker.workflow.is_completed(), f"still waiting on {walker.waiting()}"
    assert walker.ends() == path.ends
    entries = walker.entries()
    assert len(entries) == len(path.entries), entries
    for entry, expected in zip(entries, path.entries, strict=True):
        assert {k: entry.get(k) for k in expected} == expected
    assert [name for name, _ in walker.thrown] == path.thrown
    return walker
