"""Reading facts off a live workflow: open user tasks, pending timers, errors, highlights."""

from __future__ import annotations

from datetime import datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.task import TaskState

from workflows.events import PendingTimer, ScriptRun, ThrownMessage


def open_user_tasks(workflow: BpmnWorkflow) -> dict[str, SpiffTask]:
    """Tasks waiting for a person, by task id."""
    return {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def after_step(
    workflow: BpmnWorkflow, since: float
) -> tuple[dict[str, SpiffTask], list[ScriptRun]]:
    """The user tasks now waiting (as :func:`open_user_tasks`) and the script tasks completed
    at or after ``since`` (a ``time.time()`` taken before the step), in one walk of the task
    tree: every step needs both, and walking the tree is a good part of what a step costs.
    """
    ready, completed = TaskState.READY, TaskState.COMPLETED
    waiting: dict[str, SpiffTask] = {}
    scripts: list[ScriptRun] = []
    for task in workflow.get_tasks(state=ready | completed):
        state, spec = task._state, task.task_spec
        if state == ready:
            if spec.manual:
                waiting[str(task.id)] = task
        elif task.last_state_change >= since and isinstance(spec, ScriptTask):
            inherited = task.parent.data if task.parent is not None else {}
            scripts.append(ScriptRun(str(task.id), spec.bpmn_id, task.data, inherited))
    return waiting, scripts


def pending_timers(workflow: BpmnWorkflow) -> list[PendingTimer]:
    """Timer events the instance waits on, with their next due time (for the scheduler)."""
    timers = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = definition.details(task).value
        if value:
            timers.append(
                PendingTimer(
                    task_id=str(task.id),
                    element_id=task.task_spec.bpmn_id,
                    name=task.task_spec.bpmn_name,
                    due_at=_parse(value),
                )
            )
    return timers


def thrown_messages(workflow: BpmnWorkflow) -> list[ThrownMessage]:
    """Messages thrown to the outside during the last step (taken off the workflow)."""
    messages = []
    for event in workflow.get_events():
        name = getattr(event.event_definition, "name", None)
        if name:
            payload = event.payload if isinstance(event.payload, dict) else {}
            # Camunda-style throws wrap the expression's value: {"payload": ..., "result_var": ...}
            if set(payload) <= {"payload", "result_var"} and isinstance(
                payload.get("payload"), dict
            ):
                payload = payload["payload"]
            messages.append(ThrownMessage(name, payload))
    return messages


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def error_details(err: SpiffWorkflowException) -> dict:
    task = getattr(err, "task", None)
    return {
        "element_id": task.task_spec.bpmn_id if task is not None else None,
        "line": getattr(err, "line_number", None) or None,
        "message": str(err).split("\n")[0],
    }


def highlights(workflow: BpmnWorkflow) -> dict[str, list[str]]:
    """Element ids that are active (waiting) and completed, for the diagram viewer."""
    active, completed = set(), set()
    for task in workflow.get_tasks():
        element_id = getattr(task.task_spec, "bpmn_id", None)
        if element_id is None:
            continue
        if task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED, TaskState.ERROR):
            active.add(element_id)
        elif task.state == TaskState.COMPLETED:
            completed.add(element_id)
    return {"active": sorted(active), "completed": sorted(completed - active)}
