"""Move every running instance of a process from one version to another (process owners).

A plan lists each instance running version N: the steps it is at and whether it can move to M
(``workflows/migration_plan.py``); drawing it changes nothing. Applying it moves each instance
that can, each in a transaction of its own, so one instance moves all or nothing and a race on
one (someone completed its step meanwhile) leaves it where it was, reported as a conflict,
while the others go on. Each move is audited in its own transaction (the case's trail shows
it); the operation's request event counts the outcomes under the operation's id.

Process owners do no casework: a plan and its results name instances and step ids only, never
a business key or a variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from records.audit import Intent, append
from service.casework import migrate as migrating
from service.casework.desk import Desk
from service.errors import ApiError
from storage.models import ProcessDefinition, ProcessInstance, new_id
from storage.uow import UnitOfWork
from tasks.parties import Viewer
from workflows import definitions
from workflows.errors import Conflict, NotFound
from workflows.migration_plan import Move, mapping_problems, plan_move, steps_of

# The audit action of one instance's move within an operation.
MOVED_ONE = "migration.instance"


@dataclass(frozen=True)
class Target:
    """A checked request: the process, the two versions (definition ids) and the mapping."""

    key: str
    from_version: int
    to_version: int
    from_id: str
    to_id: str
    mapping: dict[str, str]

    def to_dict(self) -> dict:
        return {
            "process_key": self.key,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "mapping": self.mapping,
        }


def target(
    desk: Desk,
    unit: UnitOfWork,
    key: str,
    from_version: int,
    to_version: int,
    mapping: Mapping[str, str] | None,
) -> Target:
    """The request checked: both versions deployed (404), different, and each mapped step id
    a step of its version (422 naming ``mapping.<step>``)."""
    if from_version == to_version:
        problem = {"field": "to_version", "message": "must differ from from_version"}
        raise ApiError(422, "invalid_input", "Some fields are not valid.", [problem])
    old = definitions.find(unit.session, key, from_version)
    new = definitions.find(unit.session, key, to_version)
    mapping = dict(mapping or {})
    specs = desk.engine.specs
    problems = mapping_problems(
        mapping, specs.get(unit.session, old.id), specs.get(unit.session, new.id), "mapping"
    )
    if problems:
        raise ApiError(422, "invalid_input", "The step mapping is not valid.", problems)
    return Target(key, from_version, to_version, old.id, new.id, mapping)


def running(unit: UnitOfWork, definition_id: str) -> list[tuple[str, int]]:
    """``(instance id, row version)`` of each running instance of a version, oldest first."""
    rows = unit.session.execute(
        select(ProcessInstance.id, ProcessInstance.version)
        .where(
            ProcessInstance.definition_id == definition_id,
            ProcessInstance.status == "running",
        )
        .order_by(ProcessInstance.started_at, ProcessInstance.id)
    )
    return [(row.id, row.version) for row in rows]


def running_by_version(unit: UnitOfWork, key: str) -> dict[int, int]:
    """How many instances run each version of ``key`` (versions with none are left out)."""
    rows = unit.session.execute(
        select(ProcessDefinition.version, func.count(ProcessInstance.id))
        .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessDefinition.key == key, ProcessInstance.status == "running")
        .group_by(ProcessDefinition.version)
    )
    return {version: count for version, count in rows}


def lost_steps(moves: list[Move], specs: tuple) -> list[str]:
    """The steps instances wait at that the target version lacks: what a mapping must place."""
    known = steps_of(specs)
    return sorted({s for m in moves if not m.can_move for s in m.active if s not in known})


def _plan_one(desk: Desk, unit: UnitOfWork, aim: Target, instance_id: str) -> Move:
    engine = desk.engine
    _, workflow = engine.load(unit, instance_id)
    specs = engine.specs.get(unit.session, aim.to_id)
    label = f"version {aim.to_version}"
    return plan_move(engine.serializer.registry, instance_id, workflow, specs, aim.mapping, label)


def plan(desk: Desk, unit: UnitOfWork, aim: Target) -> list[Move]:
    """Each running instance of the old version and whether it can move: nothing is changed."""
    listed = running(unit, aim.from_id)
    return [_plan_one(desk, unit, aim, instance_id) for instance_id, _ in listed]


def move_all(desk: Desk, unit: UnitOfWork, actor: Viewer, aim: Target) -> dict:
    """Apply the plan for ``aim`` (see :func:`apply`); ``unit`` (the caller's) lists the
    instances, then lets go of its transaction so that each move takes its own, and commits the
    operation's note (``desk.note``: the request's audit event) last."""
    listed = running(unit, aim.from_id)
    unit.session.rollback()  # SQLite: this unit's write lock would block each move's own
    done = apply(desk, actor, aim, listed)
    counts = {name: done[name] for name in ("moved", "stays", "conflict")}
    desk.note(detail={**aim.to_dict(), "operation_id": done["operation_id"], **counts})
    unit.commit()
    return done


def apply(desk: Desk, actor: Viewer, aim: Target, listed: list[tuple[str, int]]) -> dict:
    """Move each of ``listed`` (``(id, version)`` as read) that can move, each in its own
    transaction; the outcome per instance: ``moved``, ``stays`` (with the reason) or
    ``conflict`` (changed or ended since it was listed)."""
    operation = new_id()
    results = [_apply_one(desk, actor, aim, operation, *entry) for entry in listed]
    counts = {
        outcome: sum(1 for r in results if r["outcome"] == outcome)
        for outcome in ("moved", "stays", "conflict")
    }
    return {"operation_id": operation, **aim.to_dict(), **counts, "results": results}


def _apply_one(
    desk: Desk, actor: Viewer, aim: Target, operation: str, instance_id: str, version: int
) -> dict:
    with UnitOfWork(desk.services.session_factory) as unit:
        try:
            move = _plan_one(desk, unit, aim, instance_id)
            if not move.can_move:
                return _result(move, "stays", move.reason)
            advance = migrating.migrate(
                desk, unit, actor, instance_id, aim.to_version, version, aim.mapping
            )
            detail = {"operation_id": operation, **aim.to_dict(), "active_steps": move.active}
            intent = Intent(
                action=MOVED_ONE,
                actor=actor.username,
                remote_addr=None,
                case_key=advance.instance.case_key,
                instance_id=instance_id,
                detail=detail,
                outcome="ok",
            )
            unit.before_commit(lambda: append(unit.session, intent, desk.now()))
            unit.commit()
            return _result(move, "moved", None)
        except (Conflict, NotFound) as err:
            unit.rollback()
            return {"instance_id": instance_id, "outcome": "conflict", "reason": str(err)}
        except ApiError as err:
            unit.rollback()
            outcome = "conflict" if err.status == 409 else "stays"
            return {"instance_id": instance_id, "outcome": outcome, "reason": err.message}


def _result(move: Move, outcome: str, reason: str | None) -> dict:
    return {"instance_id": move.instance_id, "outcome": outcome, "reason": reason}
