"""Need-to-know: who is a party to a process instance, and which instances a person may see.

Being a party comes only from doing the work, and it is read off the work itself rather than
kept in a table of its own, so nothing but the work can make anyone a party:

- the person who started the instance;
- whoever holds one of its open tasks (claimed, or given by a manager or by the diagram);
- whoever completed one of its tasks (they need to see the outcome);
- whoever may claim one of its open, unassigned tasks: a role that works across agencies (the
  front door's ``csc``) on any instance, a role that works inside one agency (a school's
  practitioners, its DSL) on instances started by someone of that agency - or on a task whose
  diagram names their agency as its second agency (``task.other_agency``, e.g. the other
  agency of a disagreement; bounded in workflows/grants.py);
- the manager of any person who is a party in one of the first three ways.

Someone who held a task and had it taken back or given to someone else before doing it stops
being a party: they are no longer its assignee and never completed it. A hand-off (a referral
started from an information-sharing decision, an escalation from a challenged referral, a step
up) records the instance it came from in ``started_from``, and the parties of the new instance
see that one instance too - nothing further back, nothing else of the child's. Work done as a
task's second agency does not carry across a hand-off: the other agency of a disagreement is a
party of the escalation only, not of the referral it was started from.

A child's *case* is every instance with the child's business key (an instance without one is a
case of its own, keyed by its id: :func:`case_key`); a person may see the case (its page, its
consents) when they may see at least one of its instances, and then only those instances.

A task that withholds the child's identity (advice without identity, ``task.identity_withheld``)
makes nobody a party in any of these ways: its holder, its candidates and whoever completed it
see that task alone (:func:`may_see_withheld_task`), never the case - nor do their managers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from storage.models import ProcessInstance, Task, TaskCandidate, User
from workflows.roles import AGENCY_SCOPED_ROLES


@dataclass(frozen=True)
class Viewer:
    """The facts about a person that decide what they may see."""

    id: str
    username: str
    roles: frozenset[str]
    agency: str | None


def case_key(business_key: str | None, instance_id: str) -> str:
    """The case's key: the child's business key, or the instance's own id for an instance started
    without one."""
    return business_key or instance_id


def case_key_column() -> ColumnElement[str]:
    return func.coalesce(ProcessInstance.business_key, ProcessInstance.id)


def _split_roles(viewer: Viewer) -> tuple[list[str], list[str]]:
    """(roles that see every agency's work, roles scoped to the viewer's agency)."""
    global_roles = sorted(r for r in viewer.roles if r not in AGENCY_SCOPED_ROLES)
    return global_roles, sorted(r for r in viewer.roles if r in AGENCY_SCOPED_ROLES)


def _has_agency(viewer: Viewer) -> bool:
    """The viewer works in an agency (a bind parameter standing for one counts: see _probe)."""
    return viewer.agency is not None and (not isinstance(viewer.agency, str) or bool(viewer.agency))


def _does_the_work(viewer: Viewer, instance, handed_off: bool = False) -> ColumnElement[bool]:
    """The viewer or someone they manage started the instance, holds one of its open tasks or
    completed one of its tasks. ``handed_off``: asked for an instance handed off from another,
    where work done as the task's second agency does not count (never transitive)."""
    task = aliased(Task)
    people = select(User.username).where(User.manager_id == viewer.id)
    did = or_(
        instance.started_by == viewer.username,
        instance.started_by.in_(people),
    )
    conditions = [
        task.instance_id == instance.id,
        task.identity_withheld.is_(False),
        or_(
            and_(task.status == "open", task.assignee == viewer.username),
            task.completed_by == viewer.username,
            and_(task.status == "open", task.assignee.in_(people)),
            task.completed_by.in_(people),
        ),
    ]
    if handed_off and _has_agency(viewer):
        conditions.append(or_(task.other_agency.is_(None), task.other_agency != viewer.agency))
    worked = exists(select(task.id).where(*conditions))
    return or_(did, worked)


def _may_take_work(viewer: Viewer, instance, handed_off: bool = False) -> ColumnElement[bool]:
    """The instance has an open, unassigned task one of the viewer's roles may claim (a role
    scoped to one agency only on instances started by someone of the viewer's agency, or on a
    task naming the viewer's agency as its second agency - not through a hand-off)."""
    global_roles, scoped_roles = _split_roles(viewer)
    clauses = []
    if global_roles:
        clauses.append(_claimable(instance, global_roles))
    if scoped_roles and _has_agency(viewer):
        # The agency first: one probe of a unique index rules out most instances before the
        # join of tasks and candidates runs.
        clauses.append(
            and_(_started_in(instance, viewer.agency), _claimable(instance, scoped_roles))
        )
        if not handed_off:
            clauses.append(_claimable(instance, scoped_roles, second_agency=viewer.agency))
    return or_(*clauses) if clauses else false()


def _claimable(instance, roles: list[str], second_agency: str | None = None) -> ColumnElement[bool]:
    task = aliased(Task)
    conditions = [
        task.instance_id == instance.id,
        task.status == "open",
        task.assignee.is_(None),
        task.identity_withheld.is_(False),
        TaskCandidate.role.in_(roles),
    ]
    if second_agency is not None:
        conditions.append(task.other_agency == second_agency)
    joined = select(TaskCandidate.task_id).join(task, task.id == TaskCandidate.task_id)
    return exists(joined.where(*conditions))


def _started_in(instance, agency: str) -> ColumnElement[bool]:
    starter = aliased(User)
    return exists(
        select(starter.id).where(starter.username == instance.started_by, starter.agency == agency)
    )


def _direct(viewer: Viewer, instance, handed_off: bool = False) -> ColumnElement[bool]:
    return or_(
        _does_the_work(viewer, instance, handed_off), _may_take_work(viewer, instance, handed_off)
    )


def visible(viewer: Viewer, instance=ProcessInstance) -> ColumnElement[bool]:
    """The whole rule for one instance (``instance``: the ORM class or an alias), as correlated
    ``EXISTS`` probes: a worklist page walks open tasks in due order and stops after 50 rows,
    so each row's probe must be a few index lookups rather than a set built in full."""
    return or_(_direct(viewer, instance), _received(viewer, instance))


def _received(viewer: Viewer, instance) -> ColumnElement[bool]:
    """The viewer may see, directly, an instance handed off from this one."""
    handed_to = aliased(ProcessInstance)
    return exists(
        select(handed_to.id).where(
            handed_to.started_from == instance.id, _direct(viewer, handed_to, handed_off=True)
        )
    )


def instance_visible(viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause on ``ProcessInstance`` for lists. Nobody sees every instance, not even
    an administrator: running the system is not doing a child's work."""
    return visible(viewer)


def claimable_task_visible(viewer: Viewer) -> ColumnElement[bool]:
    """:func:`visible` for a query already limited to open, unassigned tasks (``Task``) that
    one of the viewer's roles may claim, on the instance of such a task (``ProcessInstance``).

    That task is itself the claimable task the rule asks for: a role that works across
    agencies may take it; an agency-scoped role needs the instance to be started in the
    viewer's agency - or the viewer to be a party some other way.
    """
    global_roles, scoped_roles = _split_roles(viewer)
    # A task that withholds the child's identity may be taken by anyone holding one of its
    # roles, in any agency: taking it shows them no case (may_see_withheld_task).
    clauses: list[ColumnElement[bool]] = [Task.identity_withheld.is_(True)]
    if scoped_roles and _has_agency(viewer):
        clauses.append(_started_in(ProcessInstance, viewer.agency))
        # The task names the viewer's agency as its second agency (its roles were checked).
        clauses.append(Task.other_agency == viewer.agency)
    if global_roles:
        task_roles = select(TaskCandidate.task_id).where(TaskCandidate.role.in_(global_roles))
        clauses.append(Task.id.in_(task_roles))
    # Otherwise only as a party some other way. Being able to take some *other* task of the
    # instance adds nothing here: a role that could take one could take this one.
    clauses += [_does_the_work(viewer, ProcessInstance), _received(viewer, ProcessInstance)]
    return or_(*clauses)


# -- the check of a case-scoped request, built once per kind of viewer -------------------------
# Building the rule above as SQLAlchemy expressions costs several milliseconds of CPU (aliases,
# correlated EXISTS), more than the database takes to answer it; the request path's probes are
# therefore built once per shape of viewer (which roles, whether they have an agency) with the
# viewer's id, name and agency as bind parameters, and cached. A partnership's role sets are few.
def _bound_viewer(roles: frozenset[str], has_agency: bool) -> Viewer:
    agency = bindparam("nk_agency", type_=String()) if has_agency else None
    return Viewer(bindparam("nk_id", type_=String()), bindparam("nk_username", type_=String()),
                  roles, agency)  # type: ignore[arg-type]  # fmt: skip


@lru_cache(maxsize=256)
def _probe(by_task: bool, roles: frozenset[str], has_agency: bool) -> Select:
    seen = visible(_bound_viewer(roles, has_agency)).label("seen")
    if by_task:
        # The task and its instance come back as ORM rows: the command that follows finds them
        # in the session instead of reading them again.
        return (
            select(Task, ProcessInstance, seen)
            .join(ProcessInstance, Task.instance_id == ProcessInstance.id)
            .where(Task.id == bindparam("nk_target", type_=String()))
        )
    return select(ProcessInstance, seen).where(
        ProcessInstance.id == bindparam("nk_target", type_=String())
    )


def _params(viewer: Viewer, target: str) -> dict[str, str]:
    params = {"nk_id": viewer.id, "nk_username": viewer.username, "nk_target": target}
    if _has_agency(viewer):
        params["nk_agency"] = viewer.agency  # type: ignore[assignment]
    return params


def check_task(
    session: Session, viewer: Viewer, task_id: str
) -> tuple[Task, ProcessInstance, bool] | None:
    """A task, its instance and whether the viewer may see that instance, in one statement;
    ``None`` when there is no such task."""
    query = _probe(True, viewer.roles, _has_agency(viewer))
    found = session.execute(query, _params(viewer, task_id)).first()
    return (found[0], found[1], bool(found[2])) if found else None


def check_instance(
    session: Session, viewer: Viewer, instance_id: str
) -> tuple[ProcessInstance, bool] | None:
    """An instance and whether the viewer may see it, in one statement; ``None``: no such one."""
    query = _probe(False, viewer.roles, _has_agency(viewer))
    found = session.execute(query, _params(viewer, instance_id)).first()
    return (found[0], bool(found[1])) if found else None


def can_see_instance(session: Session, viewer: Viewer, instance_id: str) -> bool:
    query = select(ProcessInstance.id).where(ProcessInstance.id == instance_id, visible(viewer))
    return session.execute(query).first() is not None


def may_see_withheld_task(session: Session, viewer: Viewer, task_id: str) -> bool:
    """A task that withholds the child's identity, seen as a task only (its ``shows`` variables
    and its form): by whoever holds it or completed it, and, while it waits unclaimed, by anyone
    holding one of its roles (of any agency: it names no child)."""
    task = session.get(Task, task_id)
    if task is None or not task.identity_withheld:
        return False
    if viewer.username in (task.assignee, task.completed_by):
        return True
    return (
        task.status == "open"
        and task.assignee is None
        and bool(viewer.roles & set(task.candidate_roles or ()))
    )


def can_see_case(session: Session, viewer: Viewer, key: str) -> bool:
    """The viewer may see at least one instance of the child ``key``."""
    query = select(ProcessInstance.id).where(case_key_column() == key, visible(viewer)).limit(1)
    return session.execute(query).first() is not None


def case_of_instance(session: Session, instance_id: str) -> str | None:
    found = session.execute(
        select(ProcessInstance.business_key, ProcessInstance.id).where(
            ProcessInstance.id == instance_id
        )
    ).first()
    return case_key(found[0], found[1]) if found else None


def instance_of_task(session: Session, task_id: str) -> tuple[str, str] | None:
    """The case key and instance id of a task."""
    found = session.execute(
        select(ProcessInstance.business_key, ProcessInstance.id)
        .join(Task, Task.instance_id == ProcessInstance.id)
        .where(Task.id == task_id)
    ).first()
    return (case_key(found[0], found[1]), found[1]) if found else None
