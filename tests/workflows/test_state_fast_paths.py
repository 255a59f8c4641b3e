"""The hot path's shortcuts give exactly what the library's slower ways give.

Saving an instance converts every task with :class:`LeanTaskConverter` instead of the library's
converter, and a step reads its open user tasks and the scripts it ran in one walk of the tree
(:func:`after_step`). Both are checked here after every step of every path of the shipped
diagrams' path tables (timers, messages, sub-processes, loops), and a saved state must restore
into a workflow that saves to the same state again.
"""

from __future__ import annotations

import json
import time

import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.task import TaskState

from tests.diagrams.tables import TABLES
from tests.diagrams.walking import Do, Message, Timer, Walker
from workflows.facts import after_step, open_user_tasks
from workflows.serialization import (
    LeanTaskConverter,
    SpecByReferenceConverter,
    StateSerializer,
)

CASES = [
    pytest.param(name, path, id=f"{name}: {path.id}")
    for name, paths in TABLES.items()
    for path in paths
]


class CheckingWalker(Walker):
    """A walker that compares the shortcuts with the library after each step."""

    def _step(self) -> None:
        since = time.time()  # scripts run by this step's engine steps are after it
        super()._step()
        self.checked = getattr(self, "checked", 0) + 1
        waiting, scripts = after_step(self.workflow, since)
        assert list(waiting) == list(open_user_tasks(self.workflow))
        ran = self.workflow.get_tasks(
            state=TaskState.COMPLETED, spec_class=ScriptTask, updated_ts=since
        )  # the library's own filter, walking the tree again
        expected = [(str(t.id), t.task_spec.bpmn_id, t.data) for t in ran]
        assert [(r.task_id, r.element_id, r.data) for r in scripts] == expected

        serializer = StateSerializer(
            lambda ref: (self.workflow.spec, self.workflow.subprocess_specs)
        )
        registry = serializer.registry
        lean, library = (
            LeanTaskConverter.__new__(LeanTaskConverter),
            TaskConverter.__new__(TaskConverter),
        )
        lean.registry = library.registry = registry
        workflows = [self.workflow, *self.workflow.subprocesses.values()]
        for workflow in workflows:
            for task in workflow.tasks.values():
                assert lean.to_dict(task) == library.to_dict(task), task.task_spec.name

        self.workflow.spec_ref = "v1"
        converter = SpecByReferenceConverter.__new__(SpecByReferenceConverter)
        converter.registry = registry
        expected = WorkflowConverter.to_dict(converter, self.workflow)  # tasks via the registry
        expected |= {
            "spec_ref": "v1",
            "subprocesses": converter.mapping_to_dict(self.workflow.subprocesses),
            "bpmn_events": registry.convert(self.workflow.bpmn_events),
        }
        assert converter.to_dict(self.workflow) == expected

        state = serializer.dumps(self.workflow)
        restored = serializer.loads(state)
        restored.spec_ref = "v1"
        assert json.loads(serializer.dumps(restored)) == json.loads(state)


@pytest.mark.parametrize(("name", "path"), CASES)
def test_lean_saving_and_one_walk_match_the_library(name, path):
    walker = CheckingWalker(name, path.variables).walk(path.steps)
    assert walker.workflow.is_completed()
    # every step that advances the workflow (a refused answer or a wait advances nothing)
    advancing = [step for step in path.steps if isinstance(step, Do | Timer | Message)]
    assert walker.checked == len(advancing) + 1
