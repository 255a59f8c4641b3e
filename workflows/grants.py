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
from workflows.parsing import CAMUNDA_NS, NSMAP

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
