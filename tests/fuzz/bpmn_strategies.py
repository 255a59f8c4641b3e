"""Hypothesis strategies for hostile BPMN: mutated shipped diagrams, bombs, odd bytes.

The mutations are the edits a careless modeller or a hostile uploader makes to a real file:
drop, duplicate or rename an element; drop, copy or rename an attribute; set an attribute or a
text to something else (often another element's id, so references go astray in plausible ways).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from hypothesis import strategies as st
from lxml import etree

from workflows.parsing import BPMN_NS, CAMUNDA_NS

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
SHIPPED = sorted(path.name for path in BPMN_DIR.glob("*.bpmn"))
PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# Tags a renamed element may get: real BPMN and Camunda names (so the result is plausible, and
# the later checks run), and a few that mean nothing.
BPMN_TAGS = (
    "process startEvent endEvent userTask scriptTask serviceTask task exclusiveGateway "
    "parallelGateway sequenceFlow boundaryEvent timerEventDefinition messageEventDefinition "
    "subProcess callActivity conditionExpression script lane laneSet flowNodeRef incoming "
    "outgoing message intermediateCatchEvent intermediateThrowEvent extensionElements"
)
CAMUNDA_TAGS = "formData formField value validation constraint"
TAGS = [f"{{{BPMN_NS}}}{name}" for name in BPMN_TAGS.split()]
TAGS += [f"{{{CAMUNDA_NS}}}{name}" for name in CAMUNDA_TAGS.split()]
TAGS += ["unknown", "{urn:elsewhere}thing"]
ATTRIBUTES = [
    "id",
    "name",
    "sourceRef",
    "targetRef",
    "attachedToRef",
    "default",
    "processRef",
    "messageRef",
    "isExecutable",
    "calledElement",
    "scriptFormat",
    "cancelActivity",
    f"{{{CAMUNDA_NS}}}dueDate",
    f"{{{CAMUNDA_NS}}}candidateGroups",
    f"{{{CAMUNDA_NS}}}assignee",
    f"{{{CAMUNDA_NS}}}expression",
    "type",
    "config",
]

# Text that is hard on parsers and sandboxes: unicode edge cases, code, durations, nothing.
EDGE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\u202eevil\u202c",  # right-to-left override
        "\u200f\u05e9\u05dc\u05d5\u05dd",  # right-to-left mark, Hebrew
        "\ufeff",  # a BOM in the middle of the text
        "e\u0301" * 50,  # combining marks
        "\U0001f600" * 20,  # astral plane
        "__import__('os').system('id')",
        "open('/etc/passwd').read()",
        "().__class__.__bases__[0].__subclasses__()",
        "(" * 300 + ")" * 300,
        "-" * 5000 + "1",
        "1" * 5000,
        "x" * 70_000,
        "lambda: 0",
        '"P1D"',
        "P99999999999Y",
        "PT99999999999999999999H",
        "99999999WD",
        "-P1D",
        "same-day",
        "1WD",
        "True",
        "None",
    ]
)
# XML 1.0 allows no C0 controls except tab, newline and carriage return, and no surrogates:
# lxml refuses to build such a tree, so generated text stays within what a file can hold.
XML_TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(chr(c) for c in range(32) if c not in (9, 10, 13))
        + "\ufffe\uffff",
    ),
    max_size=40,
)


@cache
def _shipped_tree(name: str) -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring((BPMN_DIR / name).read_bytes()))


def _ids(root) -> list[str]:
    return [element.get("id") for element in root.iter(etree.Element) if element.get("id")]


@st.composite
def mutated_diagram(draw, names: list[str] | None = None) -> bytes:
    """A shipped diagram with one to five structural edits, serialised as UTF-8."""
    name = draw(st.sampled_from(names or SHIPPED), label="diagram")
    root = copy.deepcopy(_shipped_tree(name).getroot())
    for _ in range(draw(st.integers(1, 5), label="edits")):
        elements = list(root.iter(etree.Element))
        element = draw(st.sampled_from(elements))
        values = st.sampled_from(_ids(root)) | EDGE_TEXT | XML_TEXT
        edit = draw(
            st.sampled_from(
                [
                    "drop",
                    "duplicate",
                    "rename",
                    "drop-attribute",
                    "copy-attribute",
                    "rename-attribute",
                    "set-attribute",
                    "set-text",
                    "insert-node",
                ]
            )
        )
        parent = element.getparent()
        if edit == "drop" and parent is not None:
            parent.remove(element)
        elif edit == "duplicate" and parent is not None:
            parent.insert(parent.index(element), copy.deepcopy(element))
        elif edit == "rename":
            element.tag = draw(st.sampled_from(TAGS))
        elif edit in ("drop-attribute", "rename-attribute") and element.attrib:
            attribute = draw(st.sampled_from(sorted(element.attrib)))
            value = element.attrib.pop(attribute)
            if edit == "rename-attribute":
                element.set(draw(st.sampled_from(ATTRIBUTES)), value)
        elif edit == "copy-attribute":
            other = draw(st.sampled_from(elements))
            if other.attrib:
                attribute = draw(st.sampled_from(sorted(other.attrib)))
                element.set(attribute, other.get(attribute))
        elif edit == "set-attribute":
            element.set(draw(st.sampled_from(ATTRIBUTES)), draw(values))
        elif edit == "set-text":
            element.text = draw(values)
        elif edit == "insert-node":  # a comment or processing instruction amid an id or a script
            node = draw(st.sampled_from([etree.Comment("note"), etree.PI("pi", "x")]))
            node.tail = element.text
            element.text = None
            element.insert(0, node)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@st.composite
def damaged_bytes(draw) -> bytes:
    """A shipped diagram cut, spliced or overwritten at the byte level."""
    content = (BPMN_DIR / draw(st.sampled_from(SHIPPED))).read_bytes()
    at = draw(st.integers(0, len(content)))
    how = draw(st.sampled_from(["truncate", "insert", "overwrite", "prefix"]))
    junk = draw(st.binary(min_size=1, max_size=20) | st.sampled_from(JUNK))
    if how == "truncate":
        return content[:at]
    if how == "insert":
        return content[:at] + junk + content[at:]
    if how == "overwrite":
        return content[:at] + junk + content[at + len(junk) :]
    return junk + content


JUNK = [
    b"\x00",
    b"\xff\xfe",  # a UTF-16 byte order mark
    b"\xef\xbb\xbf",  # a UTF-8 byte order mark out of place
    b"\xed\xa0\x80",  # a surrogate encoded as UTF-8 (not valid UTF-8)
    b"\xc0\xaf",  # an overlong encoding
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"&",
    b"&amp",
    b"&#0;",
    b"&#xD800;",
    b"&#1114112;",
    b"<?xml version='1.0'?>",
    b'<?xml-stylesheet href="file:///etc/passwd"?>',
    b"<!DOCTYPE x>",
    b"</bpmn:definitions>",
    b"\r\n\r",
]

# Declarations a file could begin with.
DECLARATIONS = [
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b'<?xml version="1.0" encoding="windows-1252"?>',
    b'<?xml version="1.0" encoding="EBCDIC-US"?>',
    b'<?xml version="1.0" encoding="Shift_JIS"?>',
    b'<?xml version="1.0" encoding="no-such-thing"?>',
    b'<?xml version="1.1" encoding="UTF-8"?>',
    b'<?xml version="2.0"?>',
    b"<?xml version='1.0' encoding='utf-8' standalone='yes'?>",
]


def body_of(name: str) -> bytes:
    """A shipped diagram without its XML declaration."""
    return (BPMN_DIR / name).read_bytes().split(b"\n", 1)[1]
