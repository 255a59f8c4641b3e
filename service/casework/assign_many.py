"""A manager gives several steps to one person at once: the single reassignment, per item.

Why per item and not one transaction: each step is checked by exactly the rules of a single
reassignment (``service/casework/assign.py``: the person holds the step's role and is in the
manager's team or agency), and one refused or changed step must not undo the others. Each item
is therefore reached (need-to-know, as for ``/inbox/tasks/<id>/assign``), changed and audited in
a transaction of its own, all or nothing; the results say what happened to each. A step changed
since the page was drawn (its version moved) is a conflict and left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from records.audit import Intent, append
from service.casework import assign as assigning
from service.casework.desk import Desk
from storage.models import new_id
from storage.uow import UnitOfWork
from tasks import inbox, parties
from workflows.errors import Conflict, InvalidInput, NotFound

# The audit action of one step's reassignment within a bulk one.
ASSIGNED_ONE = "inbox.reassign_one"
MOST = 100  # steps in one request: a page lists fewer


@dataclass(frozen=True)
class Outcome:
    """What became of one step: ``assigned``, ``refused`` (with why), ``conflict`` or
    ``not_found`` (also for a step the manager may not see: its existence does not leak)."""

    task_id: str
    outcome: str
    message: str
    name: str | None = None


def assign_many(
    desk: Desk, actor: parties.Viewer, items: list[tuple[str, int | None]], username: str
) -> list[Outcome]:
    """Give each ``(task id, version as shown)`` to ``username``; each in its own transaction."""
    operation = new_id()
    return [_one(desk, actor, operation, task_id, version, username) for task_id, version in items]


def _one(
    desk: Desk,
    actor: parties.Viewer,
    operation: str,
    task_id: str,
    version: int | None,
    username: str,
) -> Outcome:
    with UnitOfWork(desk.services.session_factory) as unit:
        reached = _reach(unit, actor, task_id)
        if reached is None:
            return Outcome(task_id, "not_found", "This step is not there any more")
        key, instance_id = reached
        try:
            task = assigning.assign(desk, unit, actor, task_id, username, version)
        except InvalidInput as err:
            unit.rollback()
            return Outcome(task_id, "refused", str(err))
        except (Conflict, NotFound) as err:
            unit.rollback()
            return Outcome(task_id, "conflict", str(err))
        name = task.name or task.element_id
        intent = Intent(
            action=ASSIGNED_ONE,
            actor=actor.username,
            remote_addr=None,
            case_key=key,
            instance_id=instance_id,
            task_id=task_id,
            detail={"operation_id": operation, "user": username},
            outcome="ok",
        )
        unit.before_commit(lambda: append(unit.session, intent, desk.now()))
        unit.commit()
        return Outcome(task_id, "assigned", f"'{name}' is now with {username}", name)


def _reach(unit: UnitOfWork, actor: parties.Viewer, task_id: str) -> tuple[str, str] | None:
    """The step's case key and instance when the manager may reach it as the single
    reassignment's route does (service/access.py): a party, or addressed its overdue item."""
    found = parties.check_task(unit.session, actor, task_id[:36])
    if found is None:
        return None
    task, instance, seen = found
    if not (
        seen
        or parties.may_see_withheld_task(unit.session, actor, task.id)
        or inbox.may_act_on(unit.session, actor, task.id)
    ):
        return None
    return parties.case_key(instance.business_key, instance.id), instance.id
