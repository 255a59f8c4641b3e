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
USER_TASK = f"{{{BPMN_NS}}}userTask"


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
    """Every lane, candidate group and assignee of a user task, against the rules above."""
    allowed = frozenset(task_roles)
    listed = ", ".join(sorted(allowed))
    problems = []
    for task in root.xpath(".//bpmn:userTask", namespaces=NSMAP):
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
        problems += _check_assignee(task)
    for lane in root.xpath(".//bpmn:lane", namespaces=NSMAP):
        name = (lane.get("name") or "").strip()
        if name in allowed or not _holds_user_task(root, lane):
            continue
        problems.append(
            problem_at(
                lane,
                f"the lane {name[:40]!r} holds a user task but is not a casework role: "
                f"name it {listed}",
            )
        )
    return problems


def _holds_user_task(root, lane) -> bool:
    refs = {ref.strip() for ref in lane.xpath("bpmn:flowNodeRef/text()", namespaces=NSMAP)}
    return any(
        element.tag == USER_TASK for ref in refs for element in root.xpath("//*[@id=$id]", id=ref)
    )


def _check_assignee(task) -> list[Problem]:
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
    process = task.xpath("ancestor::bpmn:process[1]", namespaces=NSMAP)
    scope = process[0] if process else task.getroottree().getroot()
    steps = scope.xpath(".//bpmn:userTask[@id=$id]", namespaces=NSMAP, id=step)
    if not steps:
        return [
            problem_at(
                task,
                f"camunda:assignee performer({step[:40]!r}) names no user task of this process",
            )
        ]
    if step == task.get("id"):
        return [problem_at(task, "camunda:assignee performer(...) names the task itself")]
    return []
