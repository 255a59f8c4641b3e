"""What the engine can run: every element it cannot is refused at deploy, with the reason.

SpiffWorkflow parses more than this service runs. A Camunda service task parses and then waits
for ever, because nothing here completes it; a start event with id ``Start`` parses and then
every start fails, because the library names its own first step ``Start``; a listener or an
input mapping drawn in another modeller is silently dropped. A diagram that deploys must run as
drawn, so each such element is named here with its line and what to draw instead.
(docs/diagrams-from-other-modellers.md lists them for process owners.)
"""

from __future__ import annotations

from lxml import etree

from workflows.dialects import ACTIVITI_NS, FLOWABLE_NS, SPIFF_NS, ZEEBE_NS
from workflows.errors import WARNING, Problem, problem_at
from workflows.parsing import BPMN_NS, CAMUNDA_NS, NSMAP
from workflows.structure import FLOW_NODE_TAGS, is_extension

# The service-task implementations this service provides, by name. None at present: a service
# task would wait for ever, so every one is refused (docs/diagrams-from-other-modellers.md).
SERVICE_TASK_IMPLEMENTATIONS: frozenset[str] = frozenset()
# Task-spec names SpiffWorkflow gives its own steps; an element with such an id replaces them.
RESERVED_IDS = frozenset({"Start", "End", "Root"})
RESERVED_SUFFIX = ".EndJoin"
JAVA_NAMESPACES = (CAMUNDA_NS, FLOWABLE_NS, ACTIVITI_NS)
# Attributes that give a service (or send) task code to run in the modeller's own engine.
IMPLEMENTATION_ATTRIBUTES = ("class", "delegateExpression", "expression", "type", "topic")
INSTEAD = "do the work in a script task (Python) or give it to a person as a user task"
# Elements nowhere in this engine: (tag, what to draw instead).
UNSUPPORTED = {
    "complexGateway": "a complex gateway is not run by this engine: use an exclusive or "
    "inclusive gateway with conditions",
    "adHocSubProcess": "an ad-hoc sub-process is not run here: draw its steps in a sub-process",
    "conditionalEventDefinition": "conditional events are not supported (nothing re-checks the "
    "condition when the data changes): use a gateway, a timer or a message",
    "linkEventDefinition": "link events are not supported: draw the sequence flow itself",
    "compensateEventDefinition": "compensation is not supported: draw the steps that undo the "
    "work as ordinary steps",
}
# Extension elements another engine acts on and this one would drop: (namespace, name) → why.
UNREAD_ELEMENTS = {
    **{
        (ns, name): f"listeners run code inside {engine}; here they would never run: {INSTEAD}"
        for ns, engine in (
            (CAMUNDA_NS, "Camunda"),
            (FLOWABLE_NS, "Flowable"),
            (ACTIVITI_NS, "Activiti"),
            (ZEEBE_NS, "Camunda 8"),
        )  # fmt: skip
        for name in ("executionListener", "taskListener", "executionListeners", "taskListeners")
    },
    (CAMUNDA_NS, "inputOutput"): "input/output mappings are not applied here: set the "
    "variables in a script task",
    (ZEEBE_NS, "ioMapping"): "input/output mappings are not applied here: set the variables "
    "in a script task",
    (ZEEBE_NS, "formDefinition"): "Camunda 8 forms are separate files this service does not "
    "have: declare the fields with camunda:formData",
    (ZEEBE_NS, "assignmentDefinition"): "zeebe:assignmentDefinition is not read: say who does "
    "the task with a lane or camunda:candidateGroups",
    (ZEEBE_NS, "loopCharacteristics"): "zeebe:loopCharacteristics is not read: give the "
    "multi-instance a loopCardinality or camunda:collection",
    (ZEEBE_NS, "script"): "Camunda 8 scripts are FEEL: write the script in Python in bpmn:script",
    (SPIFF_NS, "preScript"): "spiffworkflow:preScript is not run here: put the code in a "
    "script task before this step",
    (SPIFF_NS, "postScript"): "spiffworkflow:postScript is not run here: put the code in a "
    "script task after this step",
}
_NO_JOBS = "each step runs as soon as the one before completes (there is no job executor)"
UNREAD_WARNINGS = {
    (CAMUNDA_NS, "failedJobRetryTimeCycle"): "retries of failed jobs are not used here: "
    f"{_NO_JOBS}; a failing step stops its case",
    (CAMUNDA_NS, "in"): "camunda:in is not read: the called process sees all the caller's data",
    (CAMUNDA_NS, "out"): "camunda:out is not read: the caller receives all the called "
    "process's data",
    (FLOWABLE_NS, "in"): "flowable:in is not read: the called process sees all the caller's data",
    (FLOWABLE_NS, "out"): "flowable:out is not read: the caller receives all the called "
    "process's data",
    (ZEEBE_NS, "subscription"): "zeebe:subscription is not read: messages are delivered to "
    "one instance through the API",
    (SPIFF_NS, "instructionsForEndUser"): "spiffworkflow:instructionsForEndUser is not shown "
    "here: put guidance in a form field's help property",
}
# Attributes on a task that another engine reads and this one would drop.
UNREAD_ATTRIBUTES = {
    "candidateGroups": "say who does the task with a lane or camunda:candidateGroups",
    "candidateUsers": "say who does the task with a lane or camunda:candidateGroups",
    "assignee": "say who does the task with a lane, camunda:candidateGroups or camunda:assignee",
    "dueDate": "give the time allowed as camunda:dueDate (working time, e.g. 1WD)",
    "formKey": "declare the fields with camunda:formData (or flowable:formProperty)",
}

# Camunda attributes for its job executor and tasklist. Nothing here acts on them; a diagram that
# has them runs, but the process owner is told they are ignored (warnings, not refusals).
IGNORED_CAMUNDA_ATTRIBUTES = {
    "asyncBefore": f"asynchronous continuations are not used here: {_NO_JOBS}",
    "asyncAfter": f"asynchronous continuations are not used here: {_NO_JOBS}",
    "async": f"asynchronous continuations are not used here: {_NO_JOBS}",
    "exclusive": f"exclusive jobs are not used here: {_NO_JOBS}",
    "jobPriority": f"job priorities are not used here: {_NO_JOBS}",
    "followUpDate": "follow-up dates are not shown here: give the time allowed as "
    "camunda:dueDate (working time, e.g. 1WD)",
    "historyTimeToLive": "camunda:historyTimeToLive is not used here: how long case data is "
    "kept is set for the whole service (RETENTION_*_DAYS)",
}


def _xpath(root, path: str) -> list:
    return root.xpath(path, namespaces={**NSMAP, "zeebe": ZEEBE_NS, "spiff": SPIFF_NS})


def check_executable(root) -> list[Problem]:
    """Every element the engine cannot execute as drawn, each with what to draw instead."""
    problems = _service_tasks(root) + _business_rules(root) + _call_activities(root)
    problems += _unread_extensions(root)
    for name, message in UNSUPPORTED.items():
        for element in root.iter(f"{{{BPMN_NS}}}{name}"):
            placed = element.getparent() if name.endswith("EventDefinition") else element
            problems.append(problem_at(placed, message))
    return problems


def _implementation(task) -> str | None:
    """How ``task`` says its work is done, in its modeller's words; None if it says nothing."""
    for ns in JAVA_NAMESPACES:
        prefix = {CAMUNDA_NS: "camunda", FLOWABLE_NS: "flowable", ACTIVITI_NS: "activiti"}[ns]
        for attribute in IMPLEMENTATION_ATTRIBUTES:
            value = task.get(f"{{{ns}}}{attribute}")
            if value is not None:
                return f"{prefix}:{attribute}={value!r}"
    for path, what in (
        ("bpmn:extensionElements/camunda:connector", "a camunda:connector"),
        ("bpmn:extensionElements/zeebe:taskDefinition/@type", "zeebe:taskDefinition type={!r}"),
        ("bpmn:extensionElements/spiff:serviceTaskOperator/@id", "spiffworkflow operator {!r}"),
    ):
        found = _xpath(task, path)
        if found:
            return what.format(str(found[0]))
    return None


def _service_tasks(root) -> list[Problem]:
    problems = []
    for task in _xpath(root, ".//bpmn:serviceTask | .//bpmn:sendTask"):
        implementation = _implementation(task)
        kind = etree.QName(task).localname
        if kind == "sendTask" and implementation is None:
            continue  # a plain send task throws its message, which the engine does
        if implementation in SERVICE_TASK_IMPLEMENTATIONS:
            continue
        said = f" ({implementation})" if implementation else ""
        problems.append(
            problem_at(
                task,
                f"{'service' if kind == 'serviceTask' else 'send'} task{said}: this service "
                f"provides no service-task implementations, so the step would wait for ever; "
                f"{INSTEAD}",
            )
        )
    return problems


def _business_rules(root) -> list[Problem]:
    problems = []
    for task in _xpath(root, ".//bpmn:businessRuleTask"):
        found = task.get(f"{{{CAMUNDA_NS}}}decisionRef") or next(
            iter(
                _xpath(task, "bpmn:extensionElements/zeebe:calledDecision/@decisionId")
                + _xpath(task, "bpmn:extensionElements/spiff:calledDecisionId/text()")
            ),
            None,
        )
        which = f"decision {str(found).strip()!r} is not deployed" if found else "no decision"
        problems.append(
            problem_at(
                task,
                f"business rule task: {which} (this service deploys no DMN decisions); "
                "decide with an exclusive gateway's conditions or in a script task",
            )
        )
    return problems


def _call_activities(root) -> list[Problem]:
    processes = set(_xpath(root, "bpmn:process/@id"))
    problems = []
    for call in _xpath(root, ".//bpmn:callActivity"):
        called = (call.get("calledElement") or "").strip()
        zeebe = _xpath(call, "bpmn:extensionElements/zeebe:calledElement/@processId")
        if not called and zeebe:
            message = (
                f"Camunda 8's zeebe:calledElement ({str(zeebe[0])!r}) is not read: name the "
                "called process in calledElement"
            )
        elif not called:
            message = "the call activity names no process to call (calledElement)"
        elif called not in processes:
            message = (
                f"the call activity calls process {called!r}, which is not in this file; "
                f"a call activity calls a process of the same file "
                f"({', '.join(sorted(processes)) or 'none'})"
            )
        else:
            continue
        problems.append(problem_at(call, message))
    return problems


def check_reserved_ids(root) -> list[Problem]:
    """Flow-node ids that are the engine's names for its own steps: the engine cannot even read
    such a diagram right (so the validator checks this before it runs the parser)."""
    problems = []
    for element in root.iter(*FLOW_NODE_TAGS):
        element_id = element.get("id") or ""
        if element_id in RESERVED_IDS or element_id.endswith(RESERVED_SUFFIX):
            problems.append(
                problem_at(
                    element,
                    f"the id {element_id!r} is the engine's own name for a step of every "
                    f"process: rename the element (e.g. {element_id.lower()!r})",
                )
            )
    return problems


def _unread_extensions(root) -> list[Problem]:
    problems = []
    for element in root.iter(etree.Element):
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element)
        key = (name.namespace, name.localname)
        if key in UNREAD_ELEMENTS and is_extension(element):
            problems.append(problem_at(element, UNREAD_ELEMENTS[key]))
        elif key in UNREAD_WARNINGS and is_extension(element):
            problems.append(problem_at(element, UNREAD_WARNINGS[key], WARNING))
        problems += [
            problem_at(element, f"camunda:{attribute}: {why}", WARNING)
            for attribute, why in IGNORED_CAMUNDA_ATTRIBUTES.items()
            if element.get(f"{{{CAMUNDA_NS}}}{attribute}") is not None
        ]
        if name.namespace != BPMN_NS or name.localname not in ("userTask", "startEvent"):
            continue
        problems += _unread_attributes(element)
    return problems


def _unread_attributes(task) -> list[Problem]:
    problems = []
    for ns, prefix in ((FLOWABLE_NS, "flowable"), (ACTIVITI_NS, "activiti")):
        for attribute, instead in UNREAD_ATTRIBUTES.items():
            if task.get(f"{{{ns}}}{attribute}") is not None:
                problems.append(
                    problem_at(task, f"{prefix}:{attribute} is not read here: {instead}")
                )
    form_key = task.get(f"{{{CAMUNDA_NS}}}formKey")
    if form_key and not _xpath(task, "bpmn:extensionElements/camunda:formData"):
        problems.append(
            problem_at(
                task,
                f"the form {form_key!r} (camunda:formKey) is not part of this service: "
                "declare the fields with camunda:formData",
            )
        )
    return problems
