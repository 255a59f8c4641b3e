"""Checking an uploaded diagram before anything is stored: one complete report.

SpiffWorkflow's parser finds some problems, reports them without a line number, and misses others
(dangling references, scripts that do not compile, elements it parses but cannot run). Every check
here reports the id of the element at fault and the line where that element starts in the uploaded
file, so the modeller can put the message on the right shape. All checks run, and the parser runs
too, whatever the others found: an author fixes every problem in one round, not one list after
another. The checks live by what they hold: ``structure`` (ids, schema, references),
``expressions`` (scripts and conditions), ``executable`` (what the engine can run), ``dialects``
(other modellers' extensions), and the house rules (``bounds``, ``grants``, conventions) here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from workflows.bounds import check_due_times, check_timers
from workflows.dialects import form_properties_as_camunda, short_names
from workflows.errors import ERROR, InvalidDefinition, Problem, element_id_of, problem_at
from workflows.executable import check_executable, check_reserved_ids
from workflows.expressions import check_expressions
from workflows.grants import check_grants, check_second_agencies
from workflows.parsing import BPMN_NS, CAMUNDA_NS, NSMAP, SafeguardParser, parse_xml
from workflows.rules import DeployRules, rules_of
from workflows.structure import (
    FLOW_NODE_TAGS,
    check_ids,
    check_includes,
    check_processes,
    check_references,
    check_schema,
)
from workflows.visibility_rules import check_visibility

__all__ = ["FLOW_NODE_TAGS", "ParsedDefinition", "validate"]


@dataclass
class ParsedDefinition:
    """A diagram that passed every check, ready to deploy or run."""

    key: str
    name: str | None
    spec: BpmnProcessSpec
    subprocess_specs: dict
    content: bytes
    warnings: list[Problem] = field(default_factory=list)  # what the service ignores, harmless


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
    message = short_names(str(err).split("\n")[0]).strip().rstrip(". ").replace("..", ".")
    return [Problem(element_id, line or root.sourceline, message or "the diagram is not valid")]


def validate(
    content: bytes,
    filename: str = "upload.bpmn",
    *,
    conventions: bool | DeployRules = False,
    now: datetime | None = None,
) -> ParsedDefinition:
    """Parse and check ``content``; raise :class:`InvalidDefinition` listing every problem found.

    ``conventions`` also refuses a user task without a lane or candidate role, a form or a due
    time (the house rules of the shipped service, ``DIAGRAM_CONVENTIONS``; off for small test
    diagrams and for partnerships that run diagrams without them). Given as
    :class:`~workflows.rules.DeployRules` it also says which roles may be given work and how far
    timers may go (the defaults: the casework roles, ``TimerBounds()``), which apply always.
    ``now``: the deploy time timer dates are measured from (the engine's clock; else the system's).
    Warnings (things the service ignores without harm) come back on the result, or with the
    errors when there are any.
    """
    rules = rules_of(conventions)
    now = now or datetime.now(UTC)
    root = _read(content)
    translated = form_properties_as_camunda(root)  # Flowable forms, read as Camunda ones
    problems = check_ids(root) + check_includes(root)
    problems += check_schema(root) + check_references(root) + check_processes(root)
    problems += check_reserved_ids(root)
    # The parser reads a file of sound structure only: on a dangling or duplicate id it would
    # report the same fault again, misworded, on another element.
    sound = not problems
    problems += translated + check_expressions(root) + check_executable(root)
    problems += check_due_times(root, rules.timers) + check_timers(root, now, rules.timers)
    problems += check_grants(root, rules.task_roles) + check_visibility(root)
    problems += check_second_agencies(root, rules.agencies)
    if rules.conventions:
        problems += _check_user_tasks(root)
    key, name, main_problems = _main_process(root)
    problems += main_problems
    parsed = _parse(root, filename, key, problems) if key and sound else None
    if parsed is None or any(p.severity == ERROR for p in problems):
        raise InvalidDefinition(_unique(problems))
    spec, subprocess_specs = parsed
    return ParsedDefinition(key, name, spec, subprocess_specs, content, _unique(problems))


def _read(content: bytes):
    """The XML tree of ``content``, or the one problem that stops it being read at all."""
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
    return root


def _parse(root, filename: str, key: str, problems: list[Problem]) -> tuple | None:
    """The engine's reading of ``root``, also when other checks failed, so its own problems join
    the same report; None if it could not read it (its problems then added to ``problems``).

    A problem of the parser on an element already reported is left out (it is the same fault,
    often misworded, e.g. a dangling flow "perhaps a form has the same ID?"), and so is an
    unplaced failure when other problems explain it.
    """
    parser = SafeguardParser()
    try:
        parser.add_bpmn_xml(root, filename)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
        BpmnWorkflow(spec, subprocess_specs)  # builds the first steps, as every start does
    except ValidationException as err:
        found = _spiff_problems(root, err)
    except Exception as err:  # the library's other failures still deserve a placed message
        message = f"the engine cannot run it: {short_names(str(err)) or type(err).__name__}"
        found = [Problem(element_id_of(root), root.sourceline, message)]
    else:
        return spec, subprocess_specs
    errors = [p for p in problems if p.severity == ERROR]
    placed = {p.element_id for p in errors}
    problems += [
        p for p in found if not errors or (p.line != root.sourceline and p.element_id not in placed)
    ]
    return None


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
