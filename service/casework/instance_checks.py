"""Checks shared by the use cases that change one instance (message, cancel, migrate)."""

from __future__ import annotations

from service.errors import ApiError
from storage.models import ProcessInstance
from storage.uow import UnitOfWork


def instance_at(unit: UnitOfWork, instance_id: str, expected: int | None) -> None:
    """api.md: a client may send ``If-Match: <version>`` and gets 409 if it is stale.

    The engine's ``UPDATE … WHERE version = <read>`` then keeps the check true until the commit.
    """
    if expected is None:
        return
    row = unit.session.get(ProcessInstance, instance_id)
    if row is None:
        raise ApiError(404, "not_found", f"process instance {instance_id} does not exist")
    if row.version != expected:
        raise ApiError(
            409,
            "conflict",
            f"the instance is at version {row.version}, not {expected}; reload and try again",
        )
