"""Request and response models of moving running instances to a new version (process owners).

Instance ids and step ids only: a process owner does no casework, so no business key, name or
variable of a case appears in a plan or its results.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from service.api.schemas import Model, Version

StepId = Annotated[str, Field(min_length=1, max_length=200)]
MAX_MAPPED = 500  # steps in one mapping: more than any diagram has


class MigrationIn(Model):
    from_version: Version
    to_version: Version
    mapping: dict[StepId, StepId] | None = Field(
        None,
        description="{old step id: step id of to_version} for steps the new version renamed or "
        "replaced; each id must exist in its version (else 422 naming mapping.<old id>)",
    )


class PlannedMove(Model):
    instance_id: str
    active_steps: list[str] = Field(description="the ids of the steps the instance is at")
    can_move: bool
    reason: str | None = Field(None, description="why it cannot move (null when it can)")
    mapping_used: dict[str, str] = Field(description="the part of the mapping it needs")


class MigrationPlan(Model):
    process_key: str
    from_version: int
    to_version: int
    mapping: dict[str, str]
    can_move: int
    cannot_move: int
    instances: list[PlannedMove]


class MoveResult(Model):
    instance_id: str
    outcome: Literal["moved", "stays", "conflict"] = Field(
        description="moved; stays (cannot move: see reason); conflict (changed or ended since "
        "listed: left as it was)"
    )
    reason: str | None = None


class MigrationDone(Model):
    operation_id: str = Field(description="in the audit event of each move and of the operation")
    process_key: str
    from_version: int
    to_version: int
    mapping: dict[str, str]
    moved: int
    stays: int
    conflict: int
    results: list[MoveResult]
