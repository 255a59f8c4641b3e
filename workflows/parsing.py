"""Reading uploaded BPMN: a hardened XML parser and SpiffWorkflow's Camunda parser, extended.

The Camunda flavour is used because the bpmn-js properties panel (Camunda 7 provider) edits exactly
what this service reads from a user task: ``camunda:formData`` (the form),
``camunda:candidateGroups`` (who may claim it), ``camunda:assignee`` and ``camunda:dueDate`` (the
due time, e.g. ``1WD``) and ``camunda:properties``. SpiffWorkflow ignores the attributes, so the
user-task parser below copies them into ``task_spec.extensions``, which survives serialisation.
"""

from __future__ import annotations

import contextlib
import re
from xml.parsers import expat

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.task_spec import UserTaskParser
from SpiffWorkflow.camunda.specs.user_task import Form
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask

from workflows.event_subprocesses import install as install_event_subprocesses
from workflows.timers import with_clocked_timers

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
NSMAP = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

# Attributes of camunda:userTask copied into task_spec.extensions under these keys.
USER_TASK_ATTRIBUTES = {
    "candidateGroups": "candidate_groups",
    "candidateUsers": "candidate_users",
    "assignee": "assignee",
    "dueDate": "due",
    "priority": "priority",
}

# A message a caller may deliver over the API: the bpmn:message carries
# <camunda:properties><camunda:property name="external" value="true"/></camunda:properties>.
EXTERNAL = (
    "bpmn:extensionElements/camunda:properties/camunda:property"
    "[@name='external' and translate(@value, 'TRUE', 'true')='true']"
)

MAX_BPMN_BYTES = 5 * 1024 * 1024
# The XML declaration's encoding, after an optional UTF-8 byte order mark.
_DECLARED_ENCODING = re.compile(
    rb"(?:\xef\xbb\xbf)?<\?xml\s[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']"
)
UTF8_NAMES = ("utf-8", "utf8", "us-ascii", "ascii")
# The shipped diagrams have under 500 elements; five megabytes of empty elements would keep
# every check below busy for seconds.
MAX_ELEMENTS = 20_000


def secure_xml_parser() -> etree.XMLParser:
    """An lxml parser that never fetches anything, expands no entities and keeps line numbers."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


class _EndOfProlog(Exception):
    pass


class _PrologReader:
    """Parser target that stops at the DOCTYPE or the root element, whichever comes first."""

    has_doctype = False

    def doctype(self, name, pubid, system) -> None:
        self.has_doctype = True
        raise _EndOfProlog

    def start(self, tag, attrib, nsmap=None) -> None:
        raise _EndOfProlog

    def close(self) -> None:
        return None


def _has_doctype(content: bytes) -> bool:
    # Checked before the real parse, so that no entity declared in a DOCTYPE is ever expanded
    # (billion laughs) and the refusal names the DOCTYPE rather than libxml2's entity limits.
    reader = _PrologReader()
    parser = etree.XMLParser(target=reader, resolve_entities=False, no_network=True)
    # Syntax errors are reported, with their line, by the real parse.
    with contextlib.suppress(_EndOfProlog, etree.XMLSyntaxError):
        etree.fromstring(content, parser=parser)
    return reader.has_doctype


def parse_xml(content: bytes) -> etree._ElementTree:
    """Parse bytes into a tree; raises ``etree.XMLSyntaxError``, or ``ValueError`` if refused."""
    if len(content) > MAX_BPMN_BYTES:
        raise ValueError(f"the file is larger than {MAX_BPMN_BYTES // (1024 * 1024)} MB")
    if _has_doctype(content):
        raise ValueError("a DOCTYPE declaration is not allowed in BPMN files")
    _require_utf8_declaration(content)
    tree = etree.ElementTree(etree.fromstring(content, parser=secure_xml_parser()))
    if tree.docinfo.doctype:
        raise ValueError("a DOCTYPE declaration is not allowed in BPMN files")
    if sum(1 for _ in tree.getroot().iter()) > MAX_ELEMENTS:
        raise ValueError(f"the file has more than {MAX_ELEMENTS} elements")
    _use_start_lines(tree.getroot(), content)
    return tree


def _require_utf8_declaration(content: bytes) -> None:
    """Diagrams are stored and served as UTF-8: a file that declares another encoding would be
    read one way here and another way by whoever downloads it."""
    declared = _DECLARED_ENCODING.match(content)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in UTF8_NAMES:
        name = declared.group(1).decode("ascii", "replace")[:40]
        raise ValueError(f"the file declares encoding {name!r}; save it as UTF-8 and try again")


def _use_start_lines(root, content: bytes) -> None:
    """Make ``sourceline`` the line where each element's start tag begins.

    libxml2 records the line where the start tag *ends*, which is lines off for a tag whose
    attributes are spread over several lines. Expat reports where it begins; elements come in
    the same document order from both. The DOCTYPE was refused before, so expat sees no entities.
    """
    starts: list[int] = []
    reader = expat.ParserCreate()
    reader.StartElementHandler = lambda name, attributes: starts.append(reader.CurrentLineNumber)
    try:
        reader.Parse(content, True)
    except (expat.ExpatError, ValueError, LookupError):
        return  # an encoding expat cannot read: keep libxml2's lines
    elements = list(root.iter(etree.Element))
    if len(starts) != len(elements):
        return
    for element, line in zip(elements, starts, strict=True):
        if line < 65535:  # libxml2 stores line numbers in 16 bits
            element.sourceline = line


class SafeguardUserTaskParser(UserTaskParser):
    """Reads the form even without ``camunda:formKey`` and keeps the assignment attributes."""

    def get_form(self) -> Form:
        form = super().get_form()
        if form.fields or not self.xpath(".//camunda:formData/camunda:formField"):
            return form
        # The base parser gives up when formKey is absent; the properties panel omits it for
        # generated forms. Parse again as if a key were present.
        self.node.set(f"{{{CAMUNDA_NS}}}formKey", self.node.get("id"))
        try:
            return super().get_form()
        finally:
            del self.node.attrib[f"{{{CAMUNDA_NS}}}formKey"]

    def parse_extensions(self, node=None) -> dict:
        extensions = super().parse_extensions(node)
        for attribute, key in USER_TASK_ATTRIBUTES.items():
            value = self.node.get(f"{{{CAMUNDA_NS}}}{attribute}")
            if value is None:
                continue
            if key in ("candidate_groups", "candidate_users"):
                extensions[key] = [part.strip() for part in value.split(",") if part.strip()]
            else:
                extensions[key] = value.strip()
        return extensions


class SafeguardProcessParser(ProcessParser):
    """Indexes BPMN elements only.

    The library indexes every element with an ``id``, so a Camunda form field or enum option whose
    id equals a task's (the data dictionary has an option ``strategy_discussion`` and a task of
    that id) would silently replace the task. Form field and option ids are their own namespace.
    """

    def add_tasks(self) -> None:
        super().add_tasks()
        self._read_inputs()
        interrupting = {}
        for node in self.xpath("./bpmn:subProcess[@triggeredByEvent='true']"):
            flags = node.xpath("bpmn:startEvent/@isInterrupting", namespaces=NSMAP)
            interrupting[node.get("id")] = not flags or flags[0].strip().lower() != "false"
        if interrupting:  # other processes keep the library's start task
            install_event_subprocesses(self.spec, interrupting)

    def _read_inputs(self) -> None:
        """What the outside may send: the start event's form (``spec.start_form``, the only
        variables a caller may give at a start) and the messages marked external
        (``spec.external_messages``, the only ones a caller may deliver). The library keeps
        neither: it reads forms on user tasks only and drops a message's extension elements.
        """
        form = None
        for node in self.xpath("./bpmn:startEvent"):
            if node.xpath("bpmn:extensionElements/camunda:formData", namespaces=NSMAP):
                reader = SafeguardUserTaskParser(self, CamundaUserTask, node, self.nsmap, None)
                form = reader.get_form()
                break
        self.spec.start_form = form
        self.spec.external_messages = frozenset(
            message.get("name") or message.get("id")
            for message in self.doc_xpath(".//bpmn:message")
            if message.xpath(EXTERNAL, namespaces=NSMAP)
        )

    def _index_process_nodes(self) -> None:
        super()._index_process_nodes()
        for node in self.xpath(".//*[@id]"):
            if node.tag.startswith(f"{{{BPMN_NS}}}"):
                self.nodes_by_id[node.get("id")] = node


class SafeguardParser(CamundaParser):
    PROCESS_PARSER_CLASS = SafeguardProcessParser
    # Timer events read the engine's injected clock (workflows/timers.py).
    OVERRIDE_PARSER_CLASSES = with_clocked_timers(
        {
            **CamundaParser.PARSER_CLASSES,
            **CamundaParser.OVERRIDE_PARSER_CLASSES,
            full_tag("userTask"): (SafeguardUserTaskParser, CamundaUserTask),
        }
    )
