"""Deploying a diagram grants no access: who a user task may be offered or given to.

Whoever may do a task sees the case it belongs to (need-to-know follows the work), so a diagram
that offered a step to the board, or gave it to a person by name, would let a process owner open
a child's record to anyone. A user task may therefore be offered only to the casework roles the
service names (``task_roles``; lanes and ``camunda:candidateGroups`` alike), and
``camunda:assignee`` may name only people the case itself knows:

- ``initiator`` — whoever started the instance;
- ``performer("step_id")`` — whoever completed the user task ``step_id`` of the same process
  (its latest completion; ``tasks.assignment`` looks it up in the task table).

Anything else (a literal user name, a Camunda ``${...}`` expression, Python) is refused. At run
time a default assignee is kept only if that person holds one of the step's roles
(``tasks.assignment.settle_assignees``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workflows.errors import Problem, problem_at
from workflows.parsing import BPMN_NS, CAMUNDA_NS, NSMAP

_ASSIGNEE = re.compile(
    r"""^\s*(?:(?P<initiator>initiator)|performer\(\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')\s*\))\s*$"""
)
_NAME_LIKE = re.compile(r"^[\w.@-]+$")


def parse_assignee(expression: str | None) -> tuple[str, str | None] | None:
    """``("initiator", None)``, ``("performer", step_id)``, or ``None`` for anything else."""
    if not expression:
        return None
    found = _ASSIGNEE.match(expression)
    if found is None:
        return None
    if found.group("initiator"):
        return "initiator", None
    return "performer", (found.group("dq") if found.group("dq") is not None else found.group("sq"))


def check_grants(root, task_roles: Iterable[str]) -> list[Problem]:
    """Every lane, candidate group and assignee of a user task, against the rules above.

    One pass over the user tasks and one over the lanes: a hostile file may hold 20 000 elements,
    so nothing here searches the tree once per element.
    """
    allowed = frozenset(task_roles)
    listed = ", ".join(sorted(allowed))
    problems = []
    tasks = root.xpath(".//bpmn:userTask", namespaces=NSMAP)
    by_process: dict[object, set[str]] = {}
    for task in tasks:
        by_process.setdefault(_process_of(task), set()).add(task.get("id"))
    for task in tasks:
        groups = task.get(f"{{{CAMUNDA_NS}}}candidateGroups") or ""
        for role in (part.strip() for part in groups.split(",")):
            if role and role not in allowed:
                problems.append(
                    problem_at(
                        task,
                        f"camunda:candidateGroups names {role[:40]!r}, which may not be given "
                        f"casework: use {listed}",
                    )
                )
        if (task.get(f"{{{CAMUNDA_NS}}}candidateUsers") or "").strip():
            problems.append(
                problem_at(
                    task,
                    "camunda:candidateUsers is not allowed: a diagram offers work to roles, "
                    "never to people by name",
                )
            )
        problems += _check_assignee(task, by_process[_process_of(task)])
    task_ids = {task.get("id") for task in tasks}
    for lane in root.xpath(".//bpmn:lane", namespaces=NSMAP):
        name = (lane.get("name") or "").strip()
        if name in allowed:
            continue
        refs = {ref.strip() for ref in lane.xpath("bpmn:flowNodeRef/text()", namespaces=NSMAP)}
        if refs & task_ids:
            problems.append(
                problem_at(
                    lane,
                    f"the lane {name[:40]!r} holds a user task but is not a casework role: "
                    f"name it {listed}",
                )
            )
    return problems


def _process_of(task):
    process = task.xpath("ancestor::bpmn:process[1]", namespaces=NSMAP)
    return process[0] if process else None


def _check_assignee(task, steps: set[str]) -> list[Problem]:
    expression = (task.get(f"{{{CAMUNDA_NS}}}assignee") or "").strip()
    if not expression:
        return []
    parsed = parse_assignee(expression)
    shown = expression[:60]
    if parsed is None:
        if _NAME_LIKE.match(expression):
            why = (
                f"camunda:assignee names {shown!r}: a diagram may not give work to a person by name"
            )
        else:
            why = f"camunda:assignee {shown!r} is not allowed"
        return [problem_at(task, f'{why}; use initiator or performer("an earlier step\'s id")')]
    kind, step = parsed
    if kind == "initiator":
        return []
    if step not in steps:
        return [
            problem_at(
                task,
                f"camunda:assignee performer({step[:40]!r}) names no user task of this process",
            )
        ]
    if step == task.get("id"):
        return [problem_at(task, "camunda:assignee performer(...) names the task itself")]
    return []


# --- A second agency (issue 15: both agencies resolve a disagreement) -----------------------
#
# ``<camunda:property name="other_agency_from" value="FIELD"/>`` on a user task lets the
# agency-scoped roles (practitioner, manager, dsl) of a second agency take it, besides those of
# the agency the instance was started in. That is a diagram granting access, so it is bounded:
#
# - FIELD is an enum form field of an *earlier* user task of the same process (one the task can
#   be reached from), answered by a person doing the work, never by the task itself;
# - every option of that field is an agency id (``DeployRules.agencies``), so the grant can name
#   an agency and nothing else (no role, no person);
# - at run time the value is checked against the same vocabulary when the task opens
#   (``tasks.assignment``), and it widens who may take *that task only*: it is not carried to
#   other tasks, other instances or hand-offs (``tasks.parties``).

OTHER_AGENCY_FROM = "other_agency_from"
MOST_SECOND_AGENCY_TASKS = 50  # each costs a walk of the flows; the shipped diagrams have 3


def second_agency_field(task) -> tuple[object, str] | None:
    """The ``camunda:property`` element naming a second agency and the field it names."""
    found = task.xpath(
        f"bpmn:extensionElements/camunda:properties/camunda:property[@name='{OTHER_AGENCY_FROM}']",
        namespaces=NSMAP,
    )
    if not found:
        return None
    return found[0], (found[0].get("value") or "").strip()


def check_second_agencies(root, agencies: Iterable[str]) -> list[Problem]:
    """Every ``other_agency_from`` against the bounds above."""
    allowed = frozenset(agencies)
    granting = []
    for task in root.xpath(".//bpmn:userTask", namespaces=NSMAP):
        named = second_agency_field(task)
        if named is not None:
            granting.append((task, *named))
    if not granting:
        return []
    if len(granting) > MOST_SECOND_AGENCY_TASKS:
        return [
            problem_at(
                granting[MOST_SECOND_AGENCY_TASKS][0],
                f"at most {MOST_SECOND_AGENCY_TASKS} user tasks may name a second agency",
            )
        ]
    problems = []
    reach: dict[str, set[str]] = {}
    for task, prop, field_id in granting:
        process = _process_of(task)
        if process is None:
            continue
        owners = [
            (owner, field)
            for owner in process.xpath("bpmn:userTask", namespaces=NSMAP)
            for field in owner.xpath(
                "bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NSMAP
            )
            if field.get("id") == field_id
        ]
        problem = _second_agency_problem(task, field_id, owners, allowed, process, reach)
        if problem is not None:
            problems.append(problem_at(prop, problem))
    return problems


def _second_agency_problem(task, field_id, owners, allowed, process, reach) -> str | None:
    shown = field_id[:40]
    if not field_id:
        return f"{OTHER_AGENCY_FROM} names no form field"
    if any(owner is task for owner, _ in owners):
        return (
            f"{OTHER_AGENCY_FROM} names {shown!r}, a field of this very task: "
            "name one answered earlier"
        )
    if not owners:
        return (
            f"{OTHER_AGENCY_FROM} names {shown!r}, which is no form field of a user task "
            "of this process"
        )
    for owner, field in owners:
        if field.get("type") != "enum":
            return f"{OTHER_AGENCY_FROM} names {shown!r}, which is not an enum of agencies"
        options = [v.get("id") for v in field.xpath("camunda:value", namespaces=NSMAP)]
        strangers = sorted(str(o) for o in options if o not in allowed)
        if not options or strangers:
            listed = ", ".join(sorted(allowed))
            return (
                f"{OTHER_AGENCY_FROM} names {shown!r}, whose options must all be agencies "
                f"({listed}); not {', '.join(s[:40] for s in strangers[:3]) or 'none'}"
            )
        owner_id = owner.get("id")
        if owner_id not in reach:
            reach[owner_id] = _reachable(process, owner_id)
        if task.get("id") not in reach[owner_id]:
            return (
                f"{OTHER_AGENCY_FROM} names {shown!r} of {owner_id[:40]!r}, which does not come "
                "before this task"
            )
    return None


def _reachable(process, start: str) -> set[str]:
    """The ids of the elements reachable from ``start`` along sequence flows (and from a task
    through the boundary events attached to it)."""
    following: dict[str, list[str]] = {}
    for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        following.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    for event in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        following.setdefault(event.get("attachedToRef"), []).append(event.get("id"))
    seen: set[str] = set()
    todo = list(following.get(start, ()))
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo += following.get(node, ())
    return seen
