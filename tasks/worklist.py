"""The worklist: open tasks as each person should see them, read from task rows only.

No instance is deserialised to build a worklist; it is a query on ``task`` (with its
candidates, and need-to-know read off the instance's rows).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ColumnElement, Select, case, null, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from storage.models import ProcessInstance, Task, TaskCandidate, User
from tasks import parties

VIEWS = ("mine", "candidate", "team", "all")


class Unassigned(ColumnElement[bool]):
    """``task.assignee IS NULL``, spelt for each database's planner.

    SQLite's statistics do not count NULLs, so it took ``assignee IS NULL`` for a selective
    lookup in ix_task_assignee_status_due and sorted half a million unassigned tasks; there it
    is ``(assignee || '') IS NULL`` (the same rows, no index serves it), so SQLite walks
    ix_task_open_due in due order. PostgreSQL keeps the plain test: its statistics on (status,
    assignee) are what make it walk that index.
    """

    inherit_cache = True
    type = Boolean()


@compiles(Unassigned)
def _unassigned(element: Unassigned, compiler, **kw) -> str:
    return f"{compiler.process(Task.assignee, **kw)} IS NULL"


@compiles(Unassigned, "sqlite")
def _unassigned_sqlite(element: Unassigned, compiler, **kw) -> str:
    return f"({compiler.process(Task.assignee, **kw)} || '') IS NULL"


def worklist_query(
    viewer: parties.Viewer,
    view: str,
    now: datetime,
    *,
    overdue: bool | None = None,
    process_key: str | None = None,
) -> Select:
    """Open tasks of ``view`` with their process key and business key (none for a task that
    withholds the child's identity), soonest due first (no due time last)."""
    # A task that withholds the child's identity lists no business key (tasks/visibility.py).
    shown = case((Task.identity_withheld.is_(True), null()), else_=ProcessInstance.business_key)
    query = (
        select(Task, ProcessInstance.process_key, shown.label("business_key"))
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(Task.status == "open")
    )
    if view == "mine":
        query = query.where(Task.assignee == viewer.username)
    elif view == "candidate":
        # A correlated probe of task_candidate's key, not ``id IN (tasks of my roles)``: the
        # IN list made SQLite drive from every task of the role and sort them all; the probe
        # lets both databases walk open tasks in due order and stop after a page.
        claimable = (
            select(TaskCandidate.task_id)
            .where(TaskCandidate.task_id == Task.id, TaskCandidate.role.in_(sorted(viewer.roles)))
            .exists()
        )
        query = query.where(Unassigned(), claimable)
        query = query.where(parties.claimable_task_visible(viewer))
    elif view == "team":
        team = select(User.username).where(User.manager_id == viewer.id)
        query = query.where(Task.assignee.in_(team))
    else:
        query = query.where(parties.instance_visible(viewer))
    if overdue is True:
        query = query.where(Task.due_at < now)
    elif overdue is False:
        query = query.where((Task.due_at >= now) | Task.due_at.is_(None))
    if process_key:
        query = query.where(ProcessInstance.process_key == process_key)
    # ``due_at IS NULL`` first rather than NULLS LAST: the same order, and both databases walk
    # ix_task_open_due ((due_at IS NULL), due_at, id) for it; SQLite cannot use an index for
    # NULLS LAST and sorted every open task instead.
    return query.order_by(Task.due_at.is_(None), Task.due_at, Task.id)


def page(session: Session, query: Select, offset: int, limit: int) -> tuple[list, bool]:
    """One page of rows and whether there are more."""
    rows = list(session.execute(query.offset(offset).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
