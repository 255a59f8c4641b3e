"""The shape of a diagram: unique ids, the BPMN schema, references that resolve, start events.

Split from ``workflows.validation`` (which runs every check and the parser) because these
checks need only the XML tree: they hold what makes a file a well-formed BPMN diagram, whatever
modeller drew it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH

from workflows.dialects import short_names
from workflows.errors import Problem, element_id_of, problem_at
from workflows.parsing import BPMN_NS, NSMAP

EXTENSION_ELEMENTS = f"{{{BPMN_NS}}}extensionElements"
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
        "adHocSubProcess",
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


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(XSD_PATH))


def local_name(tag: str) -> str:
    """``{namespace}name`` without its namespace."""
    return tag.split("}", 1)[-1]


def is_extension(element) -> bool:
    """Inside ``bpmn:extensionElements``: a modeller's own data, whose ids are not BPMN ids."""
    return any(a.tag == EXTENSION_ELEMENTS for a in element.iterancestors())


def check_ids(root) -> list[Problem]:
    """BPMN ids are unique in the file; the ids of extension content (Camunda form fields and
    options, Flowable form properties) only within their parent (the data dictionary reuses
    field ids such as ``resolved`` across tasks, and so do Flowable forms)."""
    problems, seen = [], {}
    for element in root.iter(etree.Element):
        element_id = element.get("id")
        if element_id is None:
            continue
        scope = element.getparent() if is_extension(element) else None
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


def check_includes(root) -> list[Problem]:
    """XInclude is never processed here (nothing calls ``xinclude()``), but a diagram that asks
    for it would be read differently elsewhere: a diagram is one self-contained file."""
    return [
        problem_at(element, "XInclude is not allowed: a diagram must be one self-contained file")
        for element in root.iter(etree.Element)
        if element.tag.startswith("{") and element.tag[1:].split("}")[0] in XINCLUDE_NS
    ]


def check_schema(root) -> list[Problem]:
    """The BPMN 2.0 XSD, with its messages made readable (prefixes, not namespace URIs)."""
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
        message = short_names(message)
        element = by_line.get(error.line)
        element_id = element_id_of(element) if element is not None else None
        if "is not a valid value of the atomic type 'xs:ID'" in message or "duplicate" in message:
            continue  # reported by check_ids with a clearer message
        problems.append(Problem(element_id, error.line, message))
    return problems


def check_references(root) -> list[Problem]:
    """Every reference names an element of the right kind (the library misreports or drops
    dangling ones)."""
    by_id = {
        el.get("id"): el for el in root.iter(etree.Element) if el.get("id") and not is_extension(el)
    }
    problems = []
    for path, allowed in REFERENCES:
        for ref in root.xpath(path, namespaces=NSMAP):
            owner = ref.getparent()
            while not isinstance(owner.tag, str):  # text after a comment or PI inside the ref
                owner = owner.getparent()
            value = str(ref).strip()
            target = by_id.get(value)
            what = ref.attrname if ref.is_attribute else local_name(owner.tag)
            if target is None:
                problems.append(
                    problem_at(owner, f"{what} refers to {value!r}, which does not exist")
                )
            elif target.tag not in allowed:
                problems.append(
                    problem_at(
                        owner, f"{what} refers to {value!r}, which is a <{local_name(target.tag)}>"
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


def check_processes(root) -> list[Problem]:
    """A process and each sub-process has a start event: without one nothing runs."""
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
