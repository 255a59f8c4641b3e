"""Need-to-know: who is a party to a child's case, and which cases a person may see.

The case is the child: every instance with the same business key shares its parties (an instance
without a business key is a case of its own). A person sees a case if they are a party (started
one of its instances, hold or held one of its tasks), manage a party, or may claim one of its open
tasks. Claiming by a role that works inside one agency (a school's practitioners, its DSL) also
needs the case to involve someone of that agency; the front door's roles see every referral.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from storage.models import CaseParty, ProcessInstance, Task, TaskCandidate, User, new_id

AGENCY_SCOPED_ROLES = frozenset({"practitioner", "manager", "dsl"})


@dataclass(frozen=True)
class Viewer:
    """The facts about a person that decide what they may see."""

    id: str
    username: str
    roles: frozenset[str]
    agency: str | None

    @property
    def sees_everything(self) -> bool:
        return "admin" in self.roles


def case_key(business_key: str | None, instance_id: str) -> str:
    return business_key or instance_id


def case_key_column() -> ColumnElement[str]:
    return func.coalesce(ProcessInstance.business_key, ProcessInstance.id)


def add_party(session: Session, key: str, username: str | None, why: str, now: datetime) -> None:
    """Record that ``username`` is a party to case ``key`` (once; later reasons are not kept)."""
    if not username:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(CaseParty)
        .values(id=new_id(), case_key=key, username=username, why=why, since=now)
        .on_conflict_do_nothing(index_elements=["username", "case_key"])
    )


def _party_usernames(viewer: Viewer) -> Select:
    """The viewer and the people they manage."""
    return select(User.username).where(or_(User.id == viewer.id, User.manager_id == viewer.id))


def visible_case_keys(viewer: Viewer) -> Select:
    """A query of every case key the viewer may see (not for admins: they see all)."""
    as_party = select(CaseParty.case_key).where(CaseParty.username.in_(_party_usernames(viewer)))
    queries = [as_party]
    global_roles = [r for r in viewer.roles if r not in AGENCY_SCOPED_ROLES]
    scoped_roles = [r for r in viewer.roles if r in AGENCY_SCOPED_ROLES]
    if global_roles:
        queries.append(_candidate_cases(global_roles))
    if scoped_roles and viewer.agency:
        queries.append(_candidate_cases(scoped_roles, viewer.agency))
    return union(*queries) if len(queries) > 1 else as_party


def _candidate_cases(roles: Iterable[str], agency: str | None = None) -> Select:
    key = case_key_column()
    query = (
        select(key)
        .select_from(TaskCandidate)
        .join(Task, Task.id == TaskCandidate.task_id)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(
            TaskCandidate.role.in_(list(roles)),
            Task.status == "open",
            Task.assignee.is_(None),
        )
    )
    if agency is not None:
        query = query.where(_case_involves_agency(key, agency))
    return query


def _case_involves_agency(key: ColumnElement[str], agency: str) -> ColumnElement[bool]:
    party_user = aliased(User)
    return exists(
        select(CaseParty.id)
        .join(party_user, party_user.username == CaseParty.username)
        .where(CaseParty.case_key == key, party_user.agency == agency)
    )


def instance_visible(viewer: Viewer) -> ColumnElement[bool] | None:
    """A WHERE clause on ``ProcessInstance`` for lists; ``None`` when the viewer sees all."""
    if viewer.sees_everything:
        return None
    return case_visible(viewer, case_key_column())


def case_visible(viewer: Viewer, key: ColumnElement[str]) -> ColumnElement[bool]:
    """The rule of :func:`visible_case_keys` for one case key, as correlated ``EXISTS`` probes.

    Why not ``key IN (visible_case_keys)``: with 100 000 open cases that set is built in full
    for every query (over a second on PostgreSQL), whereas each probe here is a few index
    lookups and a worklist page stops after 50 rows (benchmarks/worklist.py).
    """
    global_roles, scoped_roles = _split_roles(viewer)
    clauses = [_is_party(viewer, key)]
    if global_roles:
        clauses.append(_has_claimable_task(key, global_roles))
    if scoped_roles and viewer.agency:
        clauses.append(
            and_(_has_claimable_task(key, scoped_roles), _case_involves_agency(key, viewer.agency))
        )
    return or_(*clauses)


def claimable_task_visible(viewer: Viewer, key: ColumnElement[str]) -> ColumnElement[bool] | None:
    """:func:`case_visible` for a query already limited to open, unassigned tasks that one of
    the viewer's roles may claim (the candidate view), on the case of such a task.

    That task is itself the claimable task the rule asks for, so the probe for one is skipped:
    a role that works across agencies sees it; an agency-scoped role needs the case to involve
    the viewer's agency. ``None`` when the viewer sees all.
    """
    if viewer.sees_everything:
        return None
    global_roles, scoped_roles = _split_roles(viewer)
    clauses = [_is_party(viewer, key)]
    if global_roles:
        task_roles = select(TaskCandidate.task_id).where(TaskCandidate.role.in_(global_roles))
        clauses.append(Task.id.in_(task_roles))
    if scoped_roles and viewer.agency:
        clauses.append(_case_involves_agency(key, viewer.agency))
    return or_(*clauses)


def _split_roles(viewer: Viewer) -> tuple[list[str], list[str]]:
    """(roles that see every agency's work, roles scoped to the viewer's agency)."""
    global_roles = sorted(r for r in viewer.roles if r not in AGENCY_SCOPED_ROLES)
    return global_roles, sorted(r for r in viewer.roles if r in AGENCY_SCOPED_ROLES)


def _is_party(viewer: Viewer, key: ColumnElement[str]) -> ColumnElement[bool]:
    """The viewer, or someone they manage, is a party (the viewer's own row first: one probe of
    the unique (username, case_key) index; the people they manage are looked up once)."""
    managed = select(User.username).where(User.manager_id == viewer.id)
    return exists(
        select(CaseParty.id).where(
            CaseParty.case_key == key,
            or_(CaseParty.username == viewer.username, CaseParty.username.in_(managed)),
        )
    )


def _has_claimable_task(key: ColumnElement[str], roles: list[str]) -> ColumnElement[bool]:
    """The case has an open, unassigned task one of ``roles`` may claim."""
    other_task, other_instance = aliased(Task), aliased(ProcessInstance)
    return exists(
        select(TaskCandidate.task_id)
        .join(other_task, other_task.id == TaskCandidate.task_id)
        .join(other_instance, other_instance.id == other_task.instance_id)
        .where(
            func.coalesce(other_instance.business_key, other_instance.id) == key,
            TaskCandidate.role.in_(roles),
            other_task.status == "open",
            other_task.assignee.is_(None),
        )
    )


_IS_PARTY = select(CaseParty.id).where(
    CaseParty.case_key == bindparam("key"), CaseParty.username == bindparam("username")
)


def can_see_case(session: Session, viewer: Viewer, key: str) -> bool:
    if viewer.sees_everything:
        return True
    # Most callers are parties themselves: one indexed lookup before the full rule.
    if session.execute(_IS_PARTY, {"key": key, "username": viewer.username}).first():
        return True
    return session.scalar(select(case_visible(viewer, literal(key)))) or False


def case_of_instance(session: Session, instance_id: str) -> str | None:
    found = session.execute(
        select(ProcessInstance.business_key, ProcessInstance.id).where(
            ProcessInstance.id == instance_id
        )
    ).first()
    return case_key(found[0], found[1]) if found else None


def case_of_task(session: Session, task_id: str) -> str | None:
    found = instance_of_task(session, task_id)
    return found[0] if found else None


def instance_of_task(session: Session, task_id: str) -> tuple[str, str] | None:
    """The case key and instance id of a task."""
    found = session.execute(
        select(ProcessInstance.business_key, ProcessInstance.id)
        .join(Task, Task.instance_id == ProcessInstance.id)
        .where(Task.id == task_id)
    ).first()
    return (case_key(found[0], found[1]), found[1]) if found else None
