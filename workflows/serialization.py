"""Instance state without the spec: a reference to the deployed version instead.

SpiffWorkflow embeds the whole parsed spec in every serialised workflow. Specs never change once a
version is deployed, so the state stores ``spec_ref`` (the definition id) and loading takes the
already-parsed spec from the per-version cache. This halves the state and removes most of the cost
of saving and loading an instance.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task

from workflows.event_subprocesses import SERIALIZER_CONFIG as EVENT_SUBPROCESS_CONFIG
from workflows.timers import SERIALIZER_CONFIG as CLOCKED_TIMERS_CONFIG

SpecResolver = Callable[[str], tuple]


_UUID_TEXT: dict[UUID, str] = {}


def uuid_text(value: UUID) -> str:
    """``str(value)``, remembered: a save spells each task's id three times (its own, as a
    parent, as a child) and ``UUID.__str__`` was a fifth of the time a save took."""
    text = _UUID_TEXT.get(value)
    if text is None:
        if len(_UUID_TEXT) >= 500_000:
            _UUID_TEXT.clear()
        text = _UUID_TEXT[value] = str(value)
    return text


def task_dict(registry, task: Task) -> dict:
    """The library's task dictionary (``TaskConverter.to_dict``), key for key and value for
    value, built with fewer calls: every save converts every task of the tree."""
    parent = task.workflow.tasks.get(task._parent)
    if parent is None:
        data, delta = task.data, {}
    else:
        own, inherited = task.data, parent.data
        data = {}
        delta = {
            "updates": {k: v for k, v in own.items() if k not in inherited or inherited[k] != v},
            "deletions": [k for k in inherited if k not in own],
        }
    internal = task.internal_data
    return {
        "id": uuid_text(task.id),
        "parent": uuid_text(task._parent) if parent is not None else None,
        "children": [uuid_text(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": registry.convert(internal) if internal else {},
        "data": data,
        "delta": delta,
    }


class LeanTaskConverter(TaskConverter):
    """Tasks converted by :func:`task_dict` (in sub-processes; the top level calls it directly).

    Loading is the library's own ``from_dict``; tests compare the outputs on the shipped diagrams.
    """

    def to_dict(self, task: Task) -> dict:
        return task_dict(self.registry, task)


class SpecByReferenceConverter(BpmnWorkflowConverter):
    """Like the library's converter, but ``spec`` and ``subprocess_specs`` are a reference.

    The keys are the library's (``WorkflowConverter.to_dict``), with the tasks converted straight
    by :func:`task_dict` instead of one registry look-up each.
    """

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        registry = self.registry
        typename = registry.typenames[Task]
        tasks = {}
        for task_id, task in workflow.tasks.items():
            converted = task_dict(registry, task)
            converted["typename"] = typename
            tasks[uuid_text(task_id)] = converted
        last = workflow.last_task
        return {
            "data": registry.convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": uuid_text(last.id) if last is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": tasks,
            "root": uuid_text(workflow.task_tree.id),
            "spec_ref": workflow.spec_ref,
            "subprocesses": self.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": registry.convert(workflow.bpmn_events),
        }

    def from_dict(self, dct: dict) -> BpmnWorkflow:
        spec_ref = dct.pop("spec_ref")
        spec, subprocess_specs = self.registry.spec_resolver(spec_ref)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.spec_ref = spec_ref
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer:
    """Serialise and restore instance state, resolving spec references through ``resolver``."""

    def __init__(self, resolver: SpecResolver):
        config = copy(CAMUNDA_CONFIG)
        config[BpmnWorkflow] = SpecByReferenceConverter
        config[Task] = LeanTaskConverter
        config.update(CLOCKED_TIMERS_CONFIG)
        config.update(EVENT_SUBPROCESS_CONFIG)
        registry = BpmnWorkflowSerializer.configure(config)
        registry.spec_resolver = resolver
        self._serializer = BpmnWorkflowSerializer(registry)
        self.registry = registry

    def dumps(self, workflow: BpmnWorkflow) -> str:
        return self._serializer.serialize_json(workflow)

    def loads(self, state: str) -> BpmnWorkflow:
        return self._serializer.deserialize_json(state)
