"""Running a diagram in memory along a given path of task completions: nothing is stored.

Process owners use it to check a change before deploying; tests use it to walk paths quickly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException

from workflows.errors import InvalidInput
from workflows.facts import error_details, open_user_tasks
from workflows.variables import check_variables


def simulate(
    spec,
    subprocess_specs: dict,
    script_engine: PythonScriptEngine,
    path: Sequence[Mapping[str, Any]],
    variables: Mapping[str, Any] | None = None,
) -> dict:
    """Complete the user tasks named in ``path`` in order and report what was reached."""
    reached: list[str] = []

    def record(task) -> None:
        element_id = getattr(task.task_spec, "bpmn_id", None)
        if element_id:
            reached.append(element_id)

    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.data.update(check_variables(variables))
    result: dict[str, Any] = {"reached": reached, "error": None}
    try:
        for task in workflow.get_tasks():
            task.data.update(workflow.data)
        workflow.do_engine_steps(did_complete_task=record)
        for index, step in enumerate(path):
            if not isinstance(step, Mapping) or not isinstance(step.get("element_id"), str):
                raise InvalidInput("each step needs an element_id", field=f"path[{index}]")
            waiting = {t.task_spec.bpmn_id: t for t in open_user_tasks(workflow).values()}
            task = waiting.get(step["element_id"])
            if task is None:
                result["error"] = {
                    "step": index,
                    "message": f"{step['element_id']!r} is not waiting; waiting: "
                    + ", ".join(sorted(waiting)),
                }
                break
            task.set_data(**check_variables(step.get("data") or {}, prefix=f"path[{index}].data"))
            task.run()
            record(task)
            workflow.do_engine_steps(did_complete_task=record)
    except SpiffWorkflowException as err:
        result["error"] = error_details(err)
    result["waiting"] = sorted(t.task_spec.bpmn_id for t in open_user_tasks(workflow).values())
    result["completed"] = workflow.is_completed()
    result["data"] = _jsonable(workflow.last_task.data if workflow.last_task else workflow.data)
    return result


def _jsonable(data: Mapping[str, Any]) -> dict:
    return {k: v for k, v in data.items() if isinstance(v, str | int | float | bool | None)}
