"""Hostile uploads: entity bombs, external entities and DTDs, oversized files.

Each is refused at once, with a problem a modeller can read, and nothing outside the upload is
read or contacted.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.support.listening import listening_port, was_contacted
from tests.workflows.test_validation import FIXTURE, QUICK, SCRIPT, mutate, problems_of
from workflows.errors import Problem
from workflows.parsing import MAX_BPMN_BYTES
from workflows.validation import validate

BODY = FIXTURE.split("\n", 1)[1]  # the fixture without its XML declaration
PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _laughs(levels: int = 10) -> str:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, levels)]
    return "<!DOCTYPE bpmn:definitions [\n" + "\n".join(entities) + "\n]>\n"


def _hostile(kind: str, secret_path: str, port: int) -> str:
    name_attr = 'name="Three steps" isExecutable'
    if kind == "xxe-in-attribute":
        doctype = f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret_path}">]>\n'
        return PROLOG + doctype + mutate(BODY, name_attr, 'name="&x;" isExecutable')
    if kind == "xxe-in-script":
        doctype = f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret_path}">]>\n'
        return PROLOG + doctype + mutate(BODY, SCRIPT, 'leaked = "&x;"')
    if kind == "xxe-etc-passwd":
        doctype = '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        return PROLOG + doctype + mutate(BODY, SCRIPT, 'leaked = "&x;"')
    if kind == "xxe-parameter-entity":
        doctype = f'<!DOCTYPE d [<!ENTITY % x SYSTEM "file://{secret_path}"> %x;]>\n'
        return PROLOG + doctype + BODY
    if kind == "external-dtd-over-network":
        doctype = f'<!DOCTYPE d SYSTEM "http://127.0.0.1:{port}/evil.dtd">\n'
        return PROLOG + doctype + BODY
    if kind == "billion-laughs-in-attribute":
        return PROLOG + _laughs() + mutate(BODY, name_attr, 'name="&lol9;" isExecutable')
    if kind == "billion-laughs-in-text":
        return PROLOG + _laughs() + mutate(BODY, SCRIPT, 'x = "&lol9;"')
    if kind == "harmless-doctype":
        return PROLOG + "<!DOCTYPE bpmn:definitions>\n" + BODY
    raise AssertionError(kind)


@pytest.fixture
def listener():
    with listening_port() as server:
        yield server


@pytest.mark.parametrize(
    "kind",
    [
        "xxe-in-attribute",
        "xxe-in-script",
        "xxe-etc-passwd",
        "xxe-parameter-entity",
        "external-dtd-over-network",
        "billion-laughs-in-attribute",
        "billion-laughs-in-text",
        "harmless-doctype",
    ],
)
def test_hostile_xml_is_refused_at_once_without_reading_anything(kind, tmp_path, listener):
    secret = f"secret-{uuid.uuid4().hex}"
    secret_path = tmp_path / "secret.txt"
    secret_path.write_text(secret)
    content = _hostile(kind, str(secret_path), listener.getsockname()[1]).encode("utf-8")

    started = time.perf_counter()
    problems = problems_of(content)
    elapsed = time.perf_counter() - started

    assert elapsed < QUICK
    assert [p.message for p in problems] == ["a DOCTYPE declaration is not allowed in BPMN files"]
    assert problems[0].element_id is None
    for problem in problems:
        assert secret not in str(problem)
        assert "root:" not in str(problem)  # nothing of /etc/passwd
        assert "lollol" not in str(problem)
    assert not was_contacted(listener)


def test_an_oversized_file_is_refused_before_parsing():
    padding = "<!-- " + "x" * MAX_BPMN_BYTES + " -->\n"
    content = (FIXTURE + padding).encode("utf-8")
    assert len(content) > MAX_BPMN_BYTES

    started = time.perf_counter()
    problems = problems_of(content)

    assert time.perf_counter() - started < QUICK
    assert problems == [Problem(None, 1, "the file is larger than 5 MB")]


def test_a_file_just_under_the_limit_is_still_accepted():
    padding_size = MAX_BPMN_BYTES - len(FIXTURE.encode("utf-8")) - len("<!--  -->\n")
    content = (FIXTURE + "<!-- " + "x" * padding_size + " -->\n").encode("utf-8")
    assert len(content) == MAX_BPMN_BYTES

    assert validate(content).key == "three_steps"
