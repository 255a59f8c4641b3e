"""Deploy checks of what a diagram says about who sees what (docs/security.md).

- ``withhold_identity_when`` (a user task's property) is a condition: it must compile and pass
  the sandbox, like a gateway's.
- ``shows`` names what the adviser of such a task reads: each name must be a form field of a
  user task that comes before it, or of the start form, and none may be a field only a step's
  parties see (``visibility=step``): an adviser who is no party must not read it. ``shows``
  without ``withhold_identity_when`` would mean nothing and is refused.
- A form field's ``visibility`` property says ``step`` or nothing.

Each problem names the element and the line where it starts.
"""

from __future__ import annotations

from collections import defaultdict

from workflows.errors import Problem, problem_at
from workflows.parsing import BPMN_NS, NSMAP
from workflows.sandbox import SandboxViolation, check_source

WITHHOLD = "withhold_identity_when"
SHOWS = "shows"
_TASK_PROPERTY = "bpmn:extensionElements/camunda:properties/camunda:property[@name=$name]"
_FIELDS = "bpmn:extensionElements/camunda:formData/camunda:formField"
_VISIBILITY = "camunda:properties/camunda:property[@id='visibility']"


def check_visibility(root) -> list[Problem]:
    """Every problem with ``withhold_identity_when``, ``shows`` and ``visibility``."""
    problems = []
    for prop in root.xpath(f".//camunda:formField/{_VISIBILITY}", namespaces=NSMAP):
        value = prop.get("value")
        if value != "step":
            field = prop.getparent().getparent().get("id")
            problems.append(
                problem_at(
                    prop.getparent().getparent().getparent(),
                    f"form field {field!r}: visibility must be 'step' (or be left out), "
                    f"not {value!r}",
                )
            )
    for process in root.xpath(".//bpmn:process", namespaces=NSMAP):
        problems += _check_process(process)
    return problems


def _property(task, name: str):
    found = task.xpath(_TASK_PROPERTY, namespaces=NSMAP, name=name)
    return found[0] if found else None


def _check_process(process) -> list[Problem]:
    problems = []
    tasks = process.xpath(".//bpmn:userTask", namespaces=NSMAP)
    step_only = set(
        process.xpath(f".//camunda:formField[{_VISIBILITY}[@value='step']]/@id", namespaces=NSMAP)
    )
    before = None
    for task in tasks:
        condition, shows = _property(task, WITHHOLD), _property(task, SHOWS)
        if condition is None and shows is None:
            continue
        if condition is None:
            problems.append(problem_at(task, f"{SHOWS} needs {WITHHOLD} (when to withhold)"))
            continue
        problems += _check_condition(task, condition.get("value"))
        if shows is None:
            continue
        before = before if before is not None else _predecessors(process)
        known = _fields_before(process, task, before)
        for name in (n.strip() for n in (shows.get("value") or "").split(",")):
            if not name:
                continue
            if name in step_only:
                problems.append(
                    problem_at(
                        task,
                        f"{SHOWS} names {name!r}, a detail only a step's parties see "
                        "(visibility=step): the adviser is not one",
                    )
                )
            elif name not in known:
                problems.append(
                    problem_at(
                        task,
                        f"{SHOWS} names {name!r}, which no earlier user task's form or the "
                        "start form asks",
                    )
                )
    return problems


def _check_condition(task, source: str | None) -> list[Problem]:
    what = f"{WITHHOLD} condition"
    if source is None or not source.strip():
        return [problem_at(task, f"the {what} is empty")]
    try:
        check_source(source.strip(), "eval")
    except SyntaxError as err:
        return [problem_at(task, f"the {what} does not compile (line {err.lineno}: {err.msg})")]
    except SandboxViolation as err:
        return [problem_at(task, f"the {what} is not allowed (line {err.line}): {err}")]
    return []


def _predecessors(process) -> dict[str, set[str]]:
    """Element id -> the ids that lead straight to it: sequence flows, a boundary event's host,
    a sub-process for the start events inside it."""
    into: dict[str, set[str]] = defaultdict(set)
    for flow in process.xpath(".//bpmn:sequenceFlow", namespaces=NSMAP):
        if flow.get("sourceRef") and flow.get("targetRef"):
            into[flow.get("targetRef")].add(flow.get("sourceRef"))
    for event in process.xpath(".//bpmn:boundaryEvent", namespaces=NSMAP):
        if event.get("attachedToRef"):
            into[event.get("id")].add(event.get("attachedToRef"))
    for sub in process.xpath(".//bpmn:subProcess", namespaces=NSMAP):
        for start in sub.xpath("bpmn:startEvent", namespaces=NSMAP):
            into[start.get("id")].add(sub.get("id"))
    return into


def _fields_before(process, task, into: dict[str, set[str]]) -> set[str]:
    """Form fields of the user tasks and start events from which ``task`` can be reached."""
    seen: set[str] = set()
    waiting = list(into.get(task.get("id"), ()))
    while waiting:
        element_id = waiting.pop()
        if element_id in seen:
            continue
        seen.add(element_id)
        waiting += into.get(element_id, ())
    seen.discard(task.get("id"))
    fields: set[str] = set()
    for element in process.iter(f"{{{BPMN_NS}}}userTask", f"{{{BPMN_NS}}}startEvent"):
        if element.get("id") in seen:
            fields |= {f.get("id") for f in element.xpath(_FIELDS, namespaces=NSMAP)}
    return fields
