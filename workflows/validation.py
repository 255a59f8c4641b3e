"""Checking an uploaded diagram before anything is stored.

SpiffWorkflow's parser finds some problems, reports them without a line number, and misses others
(dangling references, scripts that do not compile). Every check here reports the id of the element
at fault and the line where that element starts in the uploaded file, so the modeller can put the
message on the right shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from workflows.bounds import check_due_times, check_timers
from workflows.errors import InvalidDefinition, Problem, element_id_of, problem_at
from workflows.form_rules import check_form_field
from workflows.grants import check_grants, check_second_agencies
from workflows.parsing import BPMN_NS, CAMUNDA_NS, NSMAP, SafeguardParser, parse_xml
from workflows.rules import DeployRules, rules_of
from workflows.sandbox import SandboxViolation, check_source
from workflows.visibility_rules import check_visibility

XINCLUDE_NS = ("http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude")
FLOW_NODE_TAGS = {
    f"{{{BPMN_NS}}}{name}"
    for name in [
        "task",
        "userTask",
        "scriptTask",
        "serviceTask",
        "manualTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    ]
}
# (xpath of the reference, the kind of element it must name)
REFERENCES = [
    (".//bpmn:sequenceFlow/@sourceRef", FLOW_NODE_TAGS),
    (".//bpmn:sequenceFlow/@targetRef", FLOW_NODE_TAGS),
    (".//bpmn:boundaryEvent/@attachedToRef", FLOW_NODE_TAGS),
    (".//bpmn:*/@default", {f"{{{BPMN_NS}}}sequenceFlow"}),
    (".//bpmn:incoming/text()", {f"{{{BPMN_NS}}}sequenceFlow"}),
    (".//bpmn:outgoing/text()", {f"{{{BPMN_NS}}}sequenceFlow"}),
    (".//bpmn:messageEventDefinition/@messageRef", {f"{{{BPMN_NS}}}message"}),
    (".//bpmn:signalEventDefinition/@signalRef", {f"{{{BPMN_NS}}}signal"}),
    (".//bpmn:errorEventDefinition/@errorRef", {f"{{{BPMN_NS}}}error"}),
    (".//bpmn:escalationEventDefinition/@escalationRef", {f"{{{BPMN_NS}}}escalation"}),
    (".//bpmn:participant/@processRef", {f"{{{BPMN_NS}}}process"}),
    (".//bpmn:flowNodeRef/text()", FLOW_NODE_TAGS),
]


@dataclass
class ParsedDefinition:
    """A diagram that passed every check, ready to deploy or run."""

    key: str
    name: str | None
    spec: BpmnProcessSpec
    subprocess_specs: dict
    content: bytes


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(XSD_PATH))


def _local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _check_ids(root) -> list[Problem]:
    """BPMN ids are unique in the file; Camunda form-field and option ids only within their form
    or field (the data dictionary reuses field ids such as ``resolved`` across tasks)."""
    problems, seen = [], {}
    for element in root.iter(etree.Element):
        element_id = element.get("id")
        if element_id is None:
            continue
        scope = element.getparent() if element.tag.startswith(f"{{{CAMUNDA_NS}}}") else None
        key = (scope, element_id)
        if key in seen:
            problems.append(
                Problem(
                    element_id,
                    element.sourceline,
                    f"duplicate id {element_id!r}: also used on line {seen[key]}",
                )
            )
        else:
            seen[key] = element.sourceline
    return problems


def _check_includes(root) -> list[Problem]:
    """XInclude is never processed here (nothing calls ``xinclude()``), but a diagram that asks
    for it would be read differently elsewhere: a diagram is one self-contained file."""
    return [
        problem_at(element, "XInclude is not allowed: a diagram must be one self-contained file")
        for element in root.iter(etree.Element)
        if element.tag.startswith("{") and element.tag[1:].split("}")[0] in XINCLUDE_NS
    ]


def _check_schema(root) -> list[Problem]:
    schema = _schema()
    if schema.validate(root):
        return []
    by_line = {}
    for element in root.iter(etree.Element):
        by_line.setdefault(element.sourceline, element)
    problems = []
    for error in schema.error_log:
        message = error.message
        found = re.match(r"Element '\{[^}]*\}(\w+)': This element is not expected", message)
        if found:
            message = f"unknown or misplaced element <{found.group(1)}>"
        element = by_line.get(error.line)
        element_id = element_id_of(element) if element is not None else None
        if "is not a valid value of the atomic type 'xs:ID'" in message or "duplicate" in message:
            continue  # reported by _check_ids with a clearer message
        problems.append(Problem(element_id, error.line, message))
    return problems


def _check_references(root) -> list[Problem]:
    by_id = {
        el.get("id"): el
        for el in root.iter(etree.Element)
        if el.get("id") and not el.tag.startswith(f"{{{CAMUNDA_NS}}}")
    }
    problems = []
    for path, allowed in REFERENCES:
        for ref in root.xpath(path, namespaces=NSMAP):
            owner = ref.getparent()
            while not isinstance(owner.tag, str):  # text after a comment or PI inside the ref
                owner = owner.getparent()
            value = str(ref).strip()
            target = by_id.get(value)
            what = ref.attrname if ref.is_attribute else _local(owner.tag)
            if target is None:
                problems.append(
                    problem_at(owner, f"{what} refers to {value!r}, which does not exist")
                )
            elif target.tag not in allowed:
                problems.append(
                    problem_at(
                        owner, f"{what} refers to {value!r}, which is a <{_local(target.tag)}>"
                    )
                )
    for shape in root.xpath("//*[@bpmnElement]"):
        if shape.get("bpmnElement") not in by_id:
            problems.append(
                problem_at(
                    shape, f"the drawing refers to {shape.get('bpmnElement')!r}, which is missing"
                )
            )
    return problems


def _check_processes(root) -> list[Problem]:
    problems = []
    processes = root.xpath("bpmn:process", namespaces=NSMAP)
    if not processes:
        problems.append(Problem(element_id_of(root), root.sourceline, "the file has no process"))
    for process in processes:
        if not process.xpath("bpmn:startEvent", namespaces=NSMAP):
            problems.append(problem_at(process, "the process has no start event"))
        for sub in process.xpath(".//bpmn:subProcess", namespaces=NSMAP):
            if not sub.xpath("bpmn:startEvent", namespaces=NSMAP):
                problems.append(problem_at(sub, "the sub-process has no start event"))
    return problems


def _check_code(root, element, source: str | None, mode: str, what: str) -> list[Problem]:
    if source is None or not source.strip():
        return [problem_at(element, f"the {what} is empty")]
    try:
        check_source(source.strip() if mode == "eval" else source, mode)
    except SyntaxError as err:
        return [problem_at(element, f"the {what} does not compile (line {err.lineno}: {err.msg})")]
    except SandboxViolation as err:
        return [problem_at(element, f"the {what} is not allowed (line {err.line}): {err}")]
    return []


def _check_expressions(root) -> list[Problem]:
    problems = []
    for script_task in root.xpath(".//bpmn:scriptTask", namespaces=NSMAP):
        fmt = (script_task.get("scriptFormat") or "python").lower()
        if fmt not in ("python", "python3", "py"):
            problems.append(
                problem_at(script_task, f"script format {fmt!r} is not supported (python)")
            )
            continue
        scripts = script_task.xpath("bpmn:script", namespaces=NSMAP)
        text = scripts[0].text if scripts else None
        problems += _check_code(root, script_task, text, "exec", "script")
    for cond in root.xpath(".//bpmn:conditionExpression", namespaces=NSMAP):
        problems += _check_code(root, cond.getparent(), cond.text, "eval", "condition")
    for path in ("completionCondition", "loopCardinality"):
        for expr in root.xpath(f".//bpmn:{path}", namespaces=NSMAP):
            problems += _check_code(root, expr.getparent(), expr.text, "eval", path)
    for timer in root.xpath(".//bpmn:timerEventDefinition/*", namespaces=NSMAP):
        event = timer.getparent().getparent()
        text = (timer.text or "").strip()
        if re.fullmatch(r"R?\d*/?P[0-9YMWDTHS.]*", text):
            problems.append(problem_at(event, f'the timer {text!r} must be quoted: "{text}"'))
            continue
        problems += _check_code(root, event, text, "eval", f"timer {_local(timer.tag)}")
    throws = ".//bpmn:intermediateThrowEvent/bpmn:messageEventDefinition"
    throws += " | .//bpmn:endEvent/bpmn:messageEventDefinition"
    for definition in root.xpath(throws, namespaces=NSMAP):
        event = definition.getparent()
        payload = definition.get(f"{{{CAMUNDA_NS}}}expression")
        if payload is None:
            problems.append(
                problem_at(event, "a message throw needs camunda:expression (its payload)")
            )
        else:
            problems += _check_code(root, event, payload, "eval", "message payload")
    for field in root.xpath(".//camunda:formData/camunda:formField", namespaces=NSMAP):
        problems += check_form_field(field)
    return problems


def _check_user_tasks(root) -> list[Problem]:
    """Every user task says who does it, what they fill in and by when: the worklist, the form
    and the reminders read these from the diagram, so a task without them cannot be worked."""
    problems = []
    in_lane = {
        ref.strip() for ref in root.xpath(".//bpmn:lane/bpmn:flowNodeRef/text()", namespaces=NSMAP)
    }
    for task in root.xpath(".//bpmn:userTask", namespaces=NSMAP):
        roles = (task.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "").strip()
        if not roles and task.get("id") not in in_lane:
            problems.append(problem_at(task, "the user task has no lane and no candidate role"))
        fields = task.xpath(
            "bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NSMAP
        )
        if not fields:
            problems.append(
                problem_at(task, "the user task has no form (camunda:formData with a field)")
            )
        if not (task.get(f"{{{CAMUNDA_NS}}}dueDate") or "").strip():
            problems.append(
                problem_at(task, "the user task has no due time (camunda:dueDate, e.g. 1WD)")
            )
    return problems


def _main_process(root) -> tuple[str | None, str | None, list[Problem]]:
    processes = [
        p
        for p in root.xpath("bpmn:process", namespaces=NSMAP)
        if p.get("isExecutable", "true").lower() == "true"
    ]
    called = set(root.xpath(".//bpmn:callActivity/@calledElement", namespaces=NSMAP))
    candidates = [p for p in processes if p.get("id") not in called]
    nameless = [p for p in candidates if not p.get("id")]
    if nameless:
        return None, None, [problem_at(nameless[0], "the process has no id (its process key)")]
    if len(candidates) == 1:
        return candidates[0].get("id"), candidates[0].get("name"), []
    if not candidates:
        return None, None, [Problem(element_id_of(root), root.sourceline, "no executable process")]
    ids = ", ".join(p.get("id") for p in candidates)
    return (
        None,
        None,
        [problem_at(candidates[1], f"more than one executable process ({ids}): keep one")],
    )


def _spiff_problems(root, err: ValidationException) -> list[Problem]:
    element_id = getattr(err, "id", None) or None
    line = err.line_number or None
    if element_id and not line:
        found = root.xpath("//*[@id=$id]", id=element_id)
        line = found[0].sourceline if found else None
    message = str(err).split("\n")[0] or "the diagram is not valid"
    return [Problem(element_id, line, message)]


def validate(
    content: bytes,
    filename: str = "upload.bpmn",
    *,
    conventions: bool | DeployRules = False,
    now: datetime | None = None,
) -> ParsedDefinition:
    """Parse and check ``content``; raise :class:`InvalidDefinition` listing every problem found.

    ``conventions`` also refuses a user task without a lane or candidate role, a form or a due
    time (the lint of the shipped diagrams; not yet the default for every deploy because small
    test diagrams and drafts in the modeller leave them out). Given as
    :class:`~workflows.rules.DeployRules` it also says which roles may be given work and how far
    timers may go (the defaults: the casework roles, ``TimerBounds()``), which apply always.
    ``now``: the deploy time timer dates are measured from (the engine's clock; else the system's).
    """
    rules = rules_of(conventions)
    now = now or datetime.now(UTC)
    _require_utf8(content)
    try:
        tree = parse_xml(content)
    except etree.XMLSyntaxError as err:
        message = err.msg
        if "Excessive depth" in message:
            message = "elements are nested too deeply (more than 256 levels)"
        raise InvalidDefinition([Problem(None, err.lineno, f"malformed XML: {message}")]) from None
    except ValueError as err:
        raise InvalidDefinition([Problem(None, 1, str(err))]) from None
    root = tree.getroot()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidDefinition([Problem(None, root.sourceline, "not a BPMN 2.0 file")])

    problems = _check_ids(root) + _check_includes(root) + _check_schema(root)
    problems += _check_references(root) + _check_processes(root) + _check_expressions(root)
    problems += check_due_times(root, rules.timers) + check_timers(root, now, rules.timers)
    problems += check_grants(root, rules.task_roles) + check_visibility(root)
    problems += check_second_agencies(root, rules.agencies)
    if rules.conventions:
        problems += _check_user_tasks(root)
    key, name, main_problems = _main_process(root)
    problems += main_problems
    if problems:
        raise InvalidDefinition(_unique(problems))

    parser = SafeguardParser()
    try:
        parser.add_bpmn_xml(root, filename)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as err:
        raise InvalidDefinition(_spiff_problems(root, err)) from None
    except Exception as err:  # the library's other failures still deserve a placed message
        raise InvalidDefinition(
            [Problem(None, None, f"the diagram could not be read: {err}")]
        ) from None
    return ParsedDefinition(key, name, spec, subprocess_specs, content)


def _require_utf8(content: bytes) -> None:
    """Diagrams are stored and served as UTF-8 text; say so instead of failing while storing."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as err:
        line = content[: err.start].count(b"\n") + 1
        raise InvalidDefinition(
            [Problem(None, line, "the file is not UTF-8; save it as UTF-8 and try again")]
        ) from None


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, result = set(), []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            result.append(problem)
    return sorted(result, key=lambda p: (p.line or 0, p.element_id or ""))
