"""Acting on a task: claim, unclaim, assign, complete.

Each change is one conditional ``UPDATE`` (``WHERE status = 'open' AND assignee …``), so two
people racing for the same task cannot both win: the loser matches no row and gets a conflict.
Completion goes through the engine, whose versioned save gives the same guarantee.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import Task, User
from storage.uow import UnitOfWork
from tasks import forms, parties
from tasks.errors import Forbidden, FormInvalid
from workflows.errors import Conflict, InvalidInput, NotFound
from workflows.events import Advance
from workflows.instances import Engine


def may_claim(viewer: parties.Viewer, task: Task) -> bool:
    """Only a holder of one of the step's roles: an administrator is no exception."""
    return bool(viewer.roles & set(task.candidate_roles or ()))


def _open_task(session: Session, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    if task.status != "open":
        raise Conflict(f"the task {task.name!r} is already {task.status}")
    return task


def check_version(task: Task, expected: int | None) -> None:
    if expected is not None and task.version != expected:
        raise Conflict(f"the task is at version {task.version}, not {expected}; reload it")


def _set_assignee(
    session: Session, task: Task, assignee: str | None, *, only_if: str | None | bool
) -> None:
    """``UPDATE`` the assignee if the row still has the version (and assignee) we read."""
    statement = update(Task).where(
        Task.id == task.id, Task.status == "open", Task.version == task.version
    )
    if only_if is None:
        statement = statement.where(Task.assignee.is_(None))
    elif only_if is not True:
        statement = statement.where(Task.assignee == only_if)
    result = session.execute(
        statement.values(assignee=assignee, version=Task.version + 1),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        raise Conflict("someone else changed the task at the same moment; reload it")
    # Read back in this transaction: the answer shows this change, not a later one.
    session.refresh(task)


def claim(
    session: Session, task_id: str, viewer: parties.Viewer, now: datetime, version: int | None
) -> Task:
    task = _open_task(session, task_id)
    check_version(task, version)
    if task.assignee == viewer.username:
        return task
    if task.assignee:
        raise Conflict(f"the task is already claimed by {task.assignee}")
    if not may_claim(viewer, task):
        raise Forbidden("Only a " + " or ".join(task.candidate_roles or ()) + " may claim it.")
    _set_assignee(session, task, viewer.username, only_if=None)
    return task


def unclaim(session: Session, task_id: str, viewer: parties.Viewer, version: int | None) -> Task:
    task = _open_task(session, task_id)
    check_version(task, version)
    if task.assignee is None:
        return task
    if task.assignee != viewer.username and not _manages(session, viewer, task.assignee):
        raise Conflict(f"the task is claimed by {task.assignee}, not by you")
    _set_assignee(session, task, None, only_if=task.assignee)
    return task


def assign(
    session: Session,
    task_id: str,
    username: str,
    viewer: parties.Viewer,
    now: datetime,
    version: int | None,
) -> Task:
    """A manager gives a task to someone who may do it: who holds the step's role, and is in
    the manager's own agency or team. Anyone else would be made a party to a child's case by
    a manager who has no say over their work."""
    task = _open_task(session, task_id)
    check_version(task, version)
    person = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if person is None:
        raise InvalidInput(f"there is no active user called {username!r}", field="user")
    if not set(person.roles or ()) & set(task.candidate_roles or ()):
        roles = " or ".join(task.candidate_roles or ())
        raise InvalidInput(f"{username} cannot do this task: it needs a {roles}", field="user")
    in_team = person.manager_id == viewer.id
    in_agency = viewer.agency is not None and person.agency == viewer.agency
    if not (in_team or in_agency):
        raise InvalidInput(
            f"{username} is neither in your team nor in your agency: ask their own manager",
            field="user",
        )
    _set_assignee(session, task, username, only_if=True)
    return task


def complete(
    engine: Engine,
    uow: UnitOfWork,
    task_id: str,
    data: Mapping[str, Any],
    viewer: parties.Viewer,
    version: int | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Advance:
    """Validate the answers against the diagram's form, then let the instance move on.

    Nothing is written before the answers are known to be valid, so a 422 changes nothing.
    ``variables`` are values the service sets itself (``Engine.complete_task``).
    """
    task, spec, context = engine.open_task(uow, task_id)
    check_version(task, version)
    if task.assignee and task.assignee != viewer.username:
        raise Conflict(f"the task is claimed by {task.assignee}")
    if not task.assignee and not may_claim(viewer, task):
        raise Forbidden("Only a " + " or ".join(task.candidate_roles or ()) + " may do it.")
    fields = forms.form_of(spec)
    if fields:
        data, problems = forms.validate(fields, data, context)
        if problems:
            raise FormInvalid(problems)
    # On the version checked above: a claim or reassignment since then makes this a conflict.
    advance = engine.complete_task(
        uow, task_id, data, user=viewer.username, task_version=task.version, variables=variables
    )
    return advance


def _manages(session: Session, viewer: parties.Viewer, username: str) -> bool:
    manager_id = session.scalar(select(User.manager_id).where(User.username == username))
    return manager_id is not None and manager_id == viewer.id
