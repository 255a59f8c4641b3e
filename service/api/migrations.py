"""Moving the running instances of a process to another version: plan (a dry run) and apply.

Both take the same body; the plan changes nothing, applying moves each instance that can move
in a transaction of its own (``service/casework/migrate_many.py``). Process owners need not be
party to the cases: the answers name instances and steps, never a child.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from service.access import access, viewer
from service.api.requests import body_of
from service.api.schemas_migrations import (
    MAX_MAPPED,
    MigrationDone,
    MigrationIn,
    MigrationPlan,
)
from service.auth import current_user
from service.casework import migrate_many
from service.casework.desk import for_request
from service.context import uow
from service.errors import ApiError
from service.openapi import spec
from service.trail import note
from workflows.roles import PROCESS_OWNERS

bp = Blueprint("migrations", __name__)
LONGEST_ID = 200


def _target(key: str) -> migrate_many.Target:
    body = body_of(MigrationIn)
    mapping = body.get("mapping") or {}
    _check_mapping(mapping)
    return migrate_many.target(
        for_request(), uow(), key, body["from_version"], body["to_version"], mapping
    )


def _check_mapping(mapping: dict) -> None:
    """Step ids are short strings; a mapping names at most ``MAX_MAPPED`` steps (422)."""
    problems = []
    if len(mapping) > MAX_MAPPED:
        problems.append({"field": "mapping", "message": f"at most {MAX_MAPPED} steps"})
    for source, target in list(mapping.items())[:MAX_MAPPED]:
        if not 1 <= len(source) <= LONGEST_ID:
            problems.append({"field": "mapping", "message": "step ids are 1-200 characters"})
        elif not isinstance(target, str) or not 1 <= len(target) <= LONGEST_ID:
            message = "must be the id of a step of to_version (1-200 characters)"
            problems.append({"field": f"mapping.{source}", "message": message})
    if problems:
        raise ApiError(422, "invalid_input", "Some fields are not valid.", problems)


@bp.post("/<key>/migration-plan")
@access(*PROCESS_OWNERS)
@spec(
    "Plan moving the running instances of one version to another (a dry run: nothing changes)",
    body=MigrationIn,
    responses={200: MigrationPlan},
)
def plan(key: str):
    aim = _target(key)
    moves = migrate_many.plan(for_request(), uow(), aim)
    movable = sum(1 for m in moves if m.can_move)
    note(detail={**aim.to_dict(), "dry_run": True, "instances": len(moves)})
    return jsonify(
        {
            **aim.to_dict(),
            "can_move": movable,
            "cannot_move": len(moves) - movable,
            "instances": [m.to_dict() for m in moves],
        }
    )


@bp.post("/<key>/migrations")
@access(*PROCESS_OWNERS)
@spec(
    "Move every running instance of one version that can move to another",
    description="Each instance moves all or nothing, in its own transaction; the answer says per "
    "instance whether it moved, stays (and why) or met a conflict (changed meanwhile).",
    body=MigrationIn,
    responses={200: MigrationDone},
)
def apply(key: str):
    aim = _target(key)
    return jsonify(migrate_many.move_all(for_request(), uow(), viewer(current_user()), aim))
