"""Running a workflow's automatic steps with a bound, so that a loop in a diagram is an error.

SpiffWorkflow's ``do_engine_steps`` repeats until no automatic task is ready, and finds ready
tasks with a task iterator that stops descending at depth 1000 (``TaskIterator(max_depth=1000)``,
``SpiffWorkflow/util/task.py``). A tight loop (script task, gateway, back again) therefore stops
silently after about 500 rounds with a ready task nobody can see, and ``is_completed()`` then
answers *true*. A wrong completion is worse than an error, so:

- :func:`run_engine` counts the tasks run in one advance and stops at :data:`MAX_ENGINE_STEPS`;
- :func:`check_not_cut_short` (called after every step) finds a ready task hidden below that
  depth and fails the step, naming its element.

Both raise ``WorkflowTaskException`` with the task, which the caller records as the instance's
error (``workflows.facts.error_details``).
"""

from __future__ import annotations

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.task import TaskState

MAX_ENGINE_STEPS = 10_000  # automatic tasks run in one advance
_ITERATOR_DEPTH = 1000  # SpiffWorkflow's TaskIterator max_depth default


def _element(task: SpiffTask) -> str:
    return task.task_spec.bpmn_id or task.task_spec.name


def run_engine(workflow: BpmnWorkflow, limit: int = MAX_ENGINE_STEPS) -> None:
    """``workflow.do_engine_steps()``, stopped with an error after ``limit`` tasks."""
    count = 0

    def counted(task: SpiffTask) -> None:
        nonlocal count
        count += 1
        if count >= limit:
            raise WorkflowTaskException(
                f"the process ran {limit:,} steps without waiting for anyone (a loop?) and was "
                f"stopped at {_element(task)!r}",
                task=task,
            )

    workflow.do_engine_steps(did_complete_task=counted)
    check_not_cut_short(workflow)


def check_not_cut_short(workflow: BpmnWorkflow) -> None:
    """Fail if a ready task lies deeper than the library's task iterator looks.

    Cheap in the common case: a tree that deep has at least 1000 tasks, so smaller ones are
    not walked at all.
    """
    workflows = [workflow, *workflow.subprocesses.values()]
    if all(len(wf.tasks) < _ITERATOR_DEPTH for wf in workflows):
        return
    seen = {task.id for task in workflow.get_tasks(state=TaskState.READY)}
    for wf in workflows:
        for task in wf.tasks.values():
            if task.state == TaskState.READY and task.id not in seen:
                raise WorkflowTaskException(
                    f"the process went round a loop about {_ITERATOR_DEPTH // 2} times without "
                    f"waiting for anyone and was stopped at {_element(task)!r}",
                    task=task,
                )
