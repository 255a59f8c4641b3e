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
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG

from workflows.event_subprocesses import SERIALIZER_CONFIG as EVENT_SUBPROCESS_CONFIG
from workflows.timers import SERIALIZER_CONFIG as CLOCKED_TIMERS_CONFIG

SpecResolver = Callable[[str], tuple]


class SpecByReferenceConverter(BpmnWorkflowConverter):
    """Like the library's converter, but ``spec`` and ``subprocess_specs`` are a reference."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["spec_ref"] = workflow.spec_ref
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

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
