"""Event sub-processes started by a message: interrupting, and without changing the shared spec.

SpiffWorkflow 3.2 starts such a sub-process when its message arrives
(``BpmnStartTask.trigger_wf``) but

- never interrupts the process around it, whatever the start event's ``isInterrupting`` says
  (early help's "consent withdrawn" must stop the plan, not run beside it), and
- connects the sub-process to the spec's start task the first time, which changes the parsed
  spec that every instance of the version shares (``workflows.definitions.SpecCache``): each
  later instance then waits on the sub-process from its start and can never complete, and
- gives the sub-process the data the instance *started* with (the start task's), not the data
  it holds now: early help's "step up" and "consent withdrawn" could not tell whether consent
  was given or what the assessment found, although BPMN lets an event sub-process read its
  parent's context.

:func:`install` gives a parsed process spec a start task that does neither: the triggered
sub-process becomes a child of the workflow's root as before, the spec is left as parsed, and
an interrupting start cancels every unfinished task of the instance first, and the sub-process
starts with what the process knows now (the last completed task's data, overlaid with the
open user tasks' data: ``_current_data``).
"""

from __future__ import annotations

from copy import deepcopy

from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.util.task import TaskState


class EventSubprocessStart(BpmnStartTask):
    """The process's start task; ``interrupting`` maps a sub-process id to its start's flag."""

    interrupting: dict[str, bool] = {}  # noqa: RUF012 - replaced per spec by install()

    def trigger_wf(self, my_task, spec_name):
        spec = self._wf_spec.task_specs.get(spec_name)
        if self not in spec.inputs:  # the sub-process's own links; the start's outputs stay
            spec._connect_notify(self)
            spec.connect(self._wf_spec.end)
        context = _current_data(my_task.workflow)
        if self.interrupting.get(spec_name, True):
            for task in my_task.workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK):
                task.cancel()
        child = my_task._add_child(spec, TaskState.FUTURE)
        child.data = context  # the start task's own data is merged over it as the child updates
        child.triggered = True
        child.task_spec._update(child)
        return child.id


def _current_data(workflow) -> dict:
    """What the instance knows now: the last completed task's data, overlaid with the data of
    the user tasks open now (oldest first). A task inside another event sub-process (a
    withdrawal's check) holds what that sub-process was told, which the last completed task of
    the main flow does not."""
    latest = workflow.last_task
    context = deepcopy(latest.data) if latest is not None else {}
    waiting = [
        task
        for task in workflow.get_tasks(state=TaskState.READY)
        if getattr(task.task_spec, "manual", False)
    ]
    for task in sorted(waiting, key=lambda t: t.last_state_change):
        context.update(deepcopy(task.data))
    return context


def install(spec, interrupting: dict[str, bool]) -> None:
    """Use :class:`EventSubprocessStart` as ``spec``'s start task (same name, same state)."""
    spec.start.__class__ = EventSubprocessStart
    spec.start.interrupting = interrupting


# Converted like the library's start task (migration diffs compare converted specs).
SERIALIZER_CONFIG = {EventSubprocessStart: DEFAULT_CONFIG[BpmnStartTask]}
