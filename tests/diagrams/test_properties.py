"""Every ``camunda:property`` in a shipped diagram is one the service reads: a property nobody
reads looks like a rule and does nothing (issue 15: "no due-time property in a shipped diagram
may be left unread")."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.diagrams.walking import BPMN, SHIPPED
from workflows.parsing import NSMAP
from workflows.properties import READ_PROPERTIES


@pytest.mark.parametrize("name", SHIPPED)
def test_every_property_in_a_shipped_diagram_is_read(name: str):
    root = etree.parse(str(BPMN / f"{name}.bpmn")).getroot()
    unread = [
        (prop.sourceline, prop.get("name") or prop.get("id"))
        for prop in root.xpath("//camunda:property", namespaces=NSMAP)
        if (prop.get("name") or prop.get("id")) not in READ_PROPERTIES
    ]
    assert unread == [], f"{name}.bpmn: properties nothing reads (line, name): {unread}"
