"""Whether a running instance can move to another version of its process, and how.

An instance can move when every step it waits on (a user task, a catch event, a sub-process)
exists in the target version, or is mapped by the process owner to a step of the target
(``{old_step_id: new_step_id}``). SpiffWorkflow aligns task specs by id (and by shape where ids
changed); a mapping overrides that alignment for the steps it names. The plan and the move use
the same alignment (:func:`diff_for`), so the plan never promises a move the engine refuses.
Nothing here writes: the engine applies the diff (``Engine.migrate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.task import TaskState

from workflows.errors import Conflict

# The states of a task an instance is at: a task in one of them must have a place in the target.
WAITING = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Move:
    """One instance's line of a plan: where it waits, whether it can move, and why not."""

    instance_id: str
    active: list[str]
    can_move: bool
    reason: str | None = None
    mapped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "instance_id": self.instance_id,
            "active_steps": self.active,
            "can_move": self.can_move,
            "reason": self.reason,
            "mapping_used": self.mapped,
        }


def steps_of(specs: tuple) -> dict[str, str]:
    """``{step id: name}`` of a parsed version ``(spec, subprocess_specs)``: what a mapping may
    name (BPMN elements only, not the engine's own start and end specs)."""
    spec, subprocess_specs = specs
    found = {}
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if task_spec.bpmn_id:
                found[task_spec.bpmn_id] = task_spec.bpmn_name or task_spec.bpmn_id
    return found


def mapping_problems(mapping: Mapping[str, str], old: tuple, new: tuple, field_name: str) -> list:
    """``[{field, message}]`` for each mapped id the old or the new version lacks (a 422)."""
    old_ids, new_ids = steps_of(old), steps_of(new)
    problems = []
    for source, target in mapping.items():
        if source not in old_ids:
            problems.append(
                {"field": f"{field_name}.{source}", "message": "no such step in the old version"}
            )
        if target not in new_ids:
            problems.append(
                {"field": f"{field_name}.{source}", "message": f"no step {target!r} in the target"}
            )
    return problems


def _spec_diff(registry, original, new, mapping: Mapping[str, str]) -> SpecDiff:
    diff = SpecDiff(registry, original, new)
    for source, target in mapping.items():
        old_spec, new_spec = original.task_specs.get(source), new.task_specs.get(target)
        if old_spec is not None and new_spec is not None:
            diff.alignment[old_spec] = new_spec
            diff.comparisons[old_spec] = ["mapped"]
            if new_spec in diff.added:
                diff.added.remove(new_spec)
    return diff


def _lost(diff: WorkflowDiff) -> set[str]:
    return {t.task_spec.bpmn_id or t.task_spec.name for t in diff.removed if t.has_state(WAITING)}


def active_steps(workflow: BpmnWorkflow) -> list[str]:
    """The ids of the BPMN steps the instance is at (sub-processes included)."""
    tasks = workflow.get_tasks(state=WAITING)
    return sorted({t.task_spec.bpmn_id for t in tasks if t.task_spec.bpmn_id})


def diff_for(
    registry,
    workflow: BpmnWorkflow,
    specs: tuple,
    mapping: Mapping[str, str] | None = None,
    label: str = "the target version",
) -> tuple[WorkflowDiff, dict[str, WorkflowDiff]]:
    """The diffs that move ``workflow`` onto ``specs`` (SpiffWorkflow's ``diff_workflow`` with
    ``mapping`` applied); :class:`Conflict` when a step it waits on would have no place."""
    spec, subprocess_specs = specs
    mapping = mapping or {}
    top = WorkflowDiff(workflow, _spec_diff(registry, workflow.spec, spec, mapping))
    subs: dict[str, WorkflowDiff] = {}
    lost = _lost(top)
    missing_sub = False
    for sub_id, sub in workflow.subprocesses.items():
        target = subprocess_specs.get(sub.spec.name)
        if target is None:
            missing_sub = True
            continue
        subs[sub_id] = WorkflowDiff(sub, _spec_diff(registry, sub.spec, target, mapping))
        lost |= _lost(subs[sub_id])
    if lost or missing_sub:
        where = ", ".join(sorted(lost)) or "a sub-process"
        raise Conflict(f"{label} has no {where}, where the instance waits")
    return top, subs


def plan_move(
    registry,
    instance_id: str,
    workflow: BpmnWorkflow,
    specs: tuple,
    mapping: Mapping[str, str] | None = None,
    label: str = "the target version",
) -> Move:
    """Whether ``workflow`` can move onto ``specs``, without changing it."""
    mapping = mapping or {}
    active = active_steps(workflow)
    used = {step: mapping[step] for step in active if step in mapping}
    try:
        diff_for(registry, workflow, specs, mapping, label)
    except Conflict as err:
        reason = f"{err}: map each such step to a step of the new version"
        return Move(instance_id, active, False, reason, used)
    return Move(instance_id, active, True, None, used)
