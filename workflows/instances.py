"""Start, load, advance, save and cancel process instances.

The hot path (completing a task) reads the task row and its instance row, takes the live workflow
from the in-process cache when the row's version matches (else restores it using the cached spec),
runs it, and writes the new state with ``UPDATE … WHERE version = <read>``. A stale copy therefore
fails with :class:`Conflict` instead of overwriting someone else's work.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.util.diff import migrate_workflow
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import TaskState
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from storage.database import is_write_conflict
from storage.models import ProcessInstance, Task, new_id
from storage.prepared import run_all
from storage.uow import UnitOfWork
from workflows import cached_step, definitions, migration_plan
from workflows.cache import CachedInstance, InstanceCache
from workflows.clock import Clock, SystemClock
from workflows.definitions import DeployResult, SpecCache
from workflows.errors import Conflict, NotFound
from workflows.events import Advance, InstanceFacts
from workflows.facts import open_user_tasks
from workflows.finishing import NOTHING_BEFORE, Before, TaskPolicy, finish_step
from workflows.sandbox import make_script_engine
from workflows.serialization import StateSerializer
from workflows.steps import run_engine
from workflows.variables import check_variables

STALE = "the instance was changed by someone else; reload and try again"


def _awaits(workflow: BpmnWorkflow, message: str) -> bool:
    return any(
        e.event_type == "MessageEventDefinition" and e.name == message
        for e in workflow.waiting_events()
    )


class Engine:
    """The engine layer's front door. One per process; safe to share between threads."""

    def __init__(
        self,
        clock: Clock | None = None,
        helpers: Mapping[str, Callable | Any] | None = None,
        cache_size: int = 2000,
        task_policy: TaskPolicy | None = None,
        conventions: bool = False,
    ):
        # ``conventions``: deploys also refuse user tasks without a role, form or due time
        # (the service's rule for its diagrams; the engine itself runs any valid BPMN).
        self.conventions = conventions
        self.clock = clock or SystemClock()
        self.task_policy = task_policy
        self.script_engine = make_script_engine(self.clock, helpers)
        self.specs = SpecCache()
        self.instances = InstanceCache(cache_size)
        self.serializer = StateSerializer(self.specs.peek)

    # -- definitions -----------------------------------------------------------------------
    def deploy(
        self,
        uow: UnitOfWork,
        content: bytes,
        filename: str,
        deployed_by: str | None = None,
        *,
        source: str = definitions.API,
        note: str | None = None,
    ) -> DeployResult:
        """A new version of the diagram (see :func:`workflows.definitions.deploy`)."""
        return definitions.deploy(
            uow.session,
            content,
            filename=filename,
            deployed_by=deployed_by,
            clock=self.clock,
            cache=self.specs,
            conventions=self.conventions,
            source=source,
            note=note,
        )

    # -- instances -------------------------------------------------------------------------
    def start(
        self,
        uow: UnitOfWork,
        process_key: str,
        *,
        business_key: str | None = None,
        variables: Mapping[str, Any] | None = None,
        version: int | None = None,
        started_by: str | None = None,
        started_from: str | None = None,
        definition_id: str | None = None,
    ) -> Advance:
        """Start an instance; ``started_from``: the instance whose step handed this one off;
        ``definition_id``: the version of ``process_key`` to start, when the caller has read it
        (so it is not looked up again), else ``version`` or the latest."""
        variables = check_variables(variables)
        connection = uow.session.connection()
        if definition_id is None:
            found = cached_step.find_definition(connection, process_key, version)
            definition_id, _ = found
            self.specs.note_version(*found)
        spec, subprocess_specs = self.specs.get(uow.session, definition_id)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        workflow.spec_ref = definition_id
        workflow.data.update(variables)
        # Who started it, for diagrams that give a task back to them (camunda:assignee="initiator").
        # Kept on the workflow, not in the task data the scripts and forms see.
        workflow.data["initiator"] = started_by
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        facts = InstanceFacts(
            id=new_id(),
            process_key=process_key,
            definition_id=definition_id,
            business_key=business_key,
            started_by=started_by,
            started_from=started_from,
            started_at=(now := self.clock.now()),
        )
        step = lambda: run_engine(workflow)  # noqa: E731
        done = finish_step(self, workflow, step, NOTHING_BEFORE, facts, now=now)
        facts = done.facts
        row = {
            "id": facts.id,
            "definition_id": definition_id,
            "process_key": process_key,
            "business_key": business_key,
            "status": facts.status,
            "state": done.state,
            "version": 1,
            "error": facts.error,
            "started_by": started_by,
            "started_from": started_from,
            "started_at": now,
            "updated_at": done.now,
            "ended_at": facts.ended_at,
            "cancel_reason": None,
        }
        writes = [(cached_step.INSERT_INSTANCE, row)]
        run_all(connection, writes + ([(cached_step.INSERT_TASKS, done.rows)] if done.rows else []))
        done.cache_on_commit(uow, self.instances)
        return done.advance

    def complete_task(
        self,
        uow: UnitOfWork,
        task_id: str,
        data: Mapping[str, Any],
        user: str | None = None,
        task_version: int | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> Advance:
        """Complete a task; with ``task_version``, only if its row is still at that version
        (the caller checked who may do it on that version: a claim since then is a conflict).

        ``variables``: values the caller owns rather than the person answering (e.g. what the
        consent register holds now). The step sees them, set after the answers so an answer
        cannot override them; the task row keeps only the answers."""
        data = check_variables(data, prefix="data")
        variables = check_variables(variables)
        owner = self.instances.owner_of(task_id)
        cached = self.instances.take(owner) if owner else None
        if cached is None and (lent := self.instances.reclaim_owner_of(uow, task_id)):
            cached = lent[1]
        if cached is not None:
            advance = cached_step.complete_cached(
                self, uow, cached, task_id, data, user, task_version, variables
            )
            if advance is not None:
                return advance
        task_row = uow.session.get(Task, task_id)
        if task_row is None:
            raise NotFound(f"task {task_id} does not exist")
        if task_row.status != "open":
            raise Conflict(f"the task {task_row.name!r} is already {task_row.status}")
        if task_version is not None and task_row.version != task_version:
            raise Conflict("the task was changed by someone else; reload it")
        row = self._instance_row(uow, task_row.instance_id)
        workflow = self._checkout(uow, row)
        spiff_task = workflow.get_task_from_id(UUID(task_id))
        if spiff_task is None or spiff_task.state != TaskState.READY:
            raise Conflict(f"the task {task_row.name!r} is no longer waiting")
        before = Before.of(workflow)

        def run() -> None:
            spiff_task.set_data(**{**data, **variables})  # the caller's values win
            spiff_task.run()
            run_engine(workflow)

        task_row.status = "completed"
        task_row.completed_at = self.clock.now()
        task_row.completed_by = user
        task_row.data = data
        return self._advance(uow, row, workflow, before, run, completed={task_id})

    def deliver_message(
        self,
        uow: UnitOfWork,
        instance_id: str,
        name: str,
        payload: Mapping[str, Any] | None,
        only_if_waiting: bool = False,
    ) -> Advance | None:
        """Deliver ``name`` to a waiting catch event (else :class:`Conflict`); ``only_if_waiting``
        (a reply, which may find its addressee moved on or ended): else None, nothing changed."""
        row = self._instance_row(uow, instance_id, for_change=not only_if_waiting)
        if only_if_waiting and row.status != "running":
            return None
        workflow = self._checkout(uow, row)
        before = Before.of(workflow)
        if only_if_waiting and not _awaits(workflow, name):
            entry = CachedInstance(workflow, before.open_ids, InstanceFacts.of(row))
            uow.on_commit(lambda: self.instances.checkin(entry))
            return None
        variable = re.sub(r"\W", "_", name)
        event = BpmnEvent(
            MessageEventDefinition(name),
            payload={"payload": dict(payload or {}), "result_var": variable},
        )
        try:
            workflow.send_event(event)
        except WorkflowException:
            raise Conflict(f"the instance is not waiting for the message {name!r}") from None
        return self._advance(uow, row, workflow, before, lambda: run_engine(workflow))

    def fire_timer(
        self, uow: UnitOfWork, instance_id: str, timer_task_id: str | None = None
    ) -> Advance:
        """Let the instance's timer events that are due by the engine's clock fire, and run on.

        Called for a ``bpmn_timer`` row (``timer_task_id`` is the timer event's task id, for
        the record). Due-ness is decided by the clock, so a timer that already fired or is not
        yet due changes nothing; the caller re-schedules from ``Advance.timers``.
        """
        row = self._instance_row(uow, instance_id)
        workflow = self._checkout(uow, row)
        before = Before.of(workflow)

        def step() -> None:
            workflow.refresh_timers()
            run_engine(workflow)

        return self._advance(uow, row, workflow, before, step)

    def cancel(self, uow: UnitOfWork, instance_id: str, reason: str) -> Advance:
        row = self._instance_row(uow, instance_id)
        workflow = self._checkout(uow, row)
        before = Before.of(workflow)
        workflow.cancel()
        row.cancel_reason = reason
        return self._advance(uow, row, workflow, before, lambda: None, status="cancelled")

    def migrate(
        self,
        uow: UnitOfWork,
        instance_id: str,
        to_version: int,
        mapping: Mapping[str, str] | None = None,
    ) -> Advance:
        """Move a running instance to another deployed version of its process.

        Refused (:class:`Conflict`) when a task the instance is waiting on does not exist in the
        target version, nor is mapped (``{old_step_id: new_step_id}``) to one of its steps: the
        instance would lose its place.
        """
        row = self._instance_row(uow, instance_id)
        target = definitions.find(uow.session, row.process_key, to_version)
        if target.id == row.definition_id:
            raise Conflict(f"the instance already runs version {to_version}")
        spec, subprocess_specs = self.specs.get(uow.session, target.id)
        workflow = self._checkout(uow, row)
        before = Before.of(workflow)
        top_diff, sub_diffs = migration_plan.diff_for(
            self.serializer.registry,
            workflow,
            (spec, subprocess_specs),
            mapping,
            f"version {to_version}",
        )
        migrate_workflow(top_diff, workflow, spec)
        for sub_id, diff in sub_diffs.items():
            sub = workflow.subprocesses[sub_id]
            migrate_workflow(diff, sub, subprocess_specs[sub.spec.name])
        workflow.subprocess_specs = subprocess_specs
        workflow.spec_ref = target.id
        row.definition_id = target.id
        advance = self._advance(uow, row, workflow, before, lambda: run_engine(workflow))
        for task_id, task in open_user_tasks(workflow).items():
            # Still waiting: its name or lane may differ in the new version.
            if task_id in before.open_ids:
                uow.session.execute(
                    update(Task)
                    .where(Task.id == task_id)
                    .values(
                        element_id=task.task_spec.bpmn_id,
                        name=task.task_spec.bpmn_name,
                        lane=task.task_spec.lane,
                    ),
                    execution_options={"synchronize_session": False},
                )
        return advance

    def open_task(self, uow: UnitOfWork, task_id: str) -> tuple[Task, Any, dict]:
        """An open task's row, its spec (form, extensions) and the data it would see.

        For checking a completion before it is attempted: nothing here is changed.
        """
        task_row = uow.session.get(Task, task_id)
        if task_row is None:
            raise NotFound(f"task {task_id} does not exist")
        if task_row.status != "open":
            raise Conflict(f"the task {task_row.name!r} is already {task_row.status}")
        _, workflow = self.load(uow, task_row.instance_id)
        spiff_task = workflow.get_task_from_id(UUID(task_id))
        if spiff_task is None or spiff_task.state != TaskState.READY:
            raise Conflict(f"the task {task_row.name!r} is no longer waiting")
        return task_row, spiff_task.task_spec, dict(spiff_task.data)

    def load(self, uow: UnitOfWork, instance_id: str) -> tuple[ProcessInstance, BpmnWorkflow]:
        """The instance and its workflow, for reading; nothing read here may be changed."""
        row = self._instance_row(uow, instance_id, for_change=False)
        workflow = self.instances.borrowed(uow, row.id, row.version)
        if workflow is None:
            workflow = self._checkout(uow, row)
            # Lent to this unit of work, not put back: no other thread may run it meanwhile.
            open_ids = frozenset(open_user_tasks(workflow))
            self.instances.lend(uow, CachedInstance(workflow, open_ids, InstanceFacts.of(row)))
        return row, workflow

    # -- internals -------------------------------------------------------------------------
    def _instance_row(
        self, uow: UnitOfWork, instance_id: str, for_change: bool = True
    ) -> ProcessInstance:
        row = uow.session.get(ProcessInstance, instance_id)
        if row is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        if for_change and row.status != "running":
            raise Conflict(f"the instance is {row.status}")
        return row

    def _checkout(self, uow: UnitOfWork, row: ProcessInstance) -> BpmnWorkflow:
        lent = self.instances.reclaim(uow, row.id)
        if lent is not None and lent.version == row.version:
            return lent.workflow
        workflow = self.instances.checkout(row.id, row.version)
        if workflow is None:
            self.specs.get(uow.session, row.definition_id)
            workflow = self.serializer.loads(row.state)
            workflow.script_engine = self.script_engine
        return workflow

    def _advance(
        self,
        uow: UnitOfWork,
        row: ProcessInstance,
        workflow: BpmnWorkflow,
        before: Before,
        step: Callable[[], None],
        completed: set[str] = frozenset(),
        status: str | None = None,
    ) -> Advance:
        """Run ``step`` on an instance read from its row and save it through the ORM (whose
        version counter makes a stale row a :class:`Conflict`)."""
        facts = replace(InstanceFacts.of(row), version=row.version + 1)
        done = finish_step(self, workflow, step, before, facts, completed, status)
        facts = done.facts
        row.status, row.error, row.updated_at = facts.status, facts.error, done.now
        if facts.ended_at is not None:
            row.ended_at = facts.ended_at
        row.state = done.state
        try:
            uow.session.flush()
            cached_step.insert_tasks(uow.session.connection(), done.rows)
            if done.cancelled:
                uow.session.connection().execute(
                    cached_step.CANCEL_TASKS, {"task_ids": list(done.cancelled)}
                )
        except (OperationalError, StaleDataError) as err:
            if isinstance(err, OperationalError) and not is_write_conflict(err):
                raise
            raise Conflict(STALE) from None
        done.cache_on_commit(uow, self.instances)
        return done.advance
