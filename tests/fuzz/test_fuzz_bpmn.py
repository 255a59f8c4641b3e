"""Hostile BPMN against the parser and validator (workflows/parsing.py, workflows/validation.py).

Whatever is uploaded, ``validate`` either returns a definition or raises ``InvalidDefinition``
with problems a modeller can read; it never raises anything else, never expands an entity,
never reads a file or the network, and answers at once (a per-example deadline).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.bpmn_strategies import (
    BPMN_DIR,
    DECLARATIONS,
    PROLOG,
    SHIPPED,
    XML_TEXT,
    body_of,
    damaged_bytes,
    mutated_diagram,
)
from tests.support.listening import listening_port, was_contacted
from workflows.errors import InvalidDefinition, Problem
from workflows.validation import ParsedDefinition, validate

# Generous: a shipped diagram validates in well under a tenth of that on a busy machine.
FUZZ = settings(
    max_examples=40,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DOCTYPE_REFUSED = "a DOCTYPE declaration is not allowed in BPMN files"
NESTED_TOO_DEEPLY = "elements are nested too deeply (more than 256 levels)"


def outcome(content: bytes) -> ParsedDefinition | list[Problem]:
    """The definition, or the problems: each a message with a line or an element to show it at."""
    try:
        return validate(content, "fuzz.bpmn")
    except InvalidDefinition as err:
        assert err.problems, "refused without saying why"
        for problem in err.problems:
            assert isinstance(problem.message, str) and problem.message.strip()
            assert problem.line is None or (isinstance(problem.line, int) and problem.line > 0)
            assert problem.element_id is None or isinstance(problem.element_id, str)
            assert "Traceback" not in problem.message
        return err.problems


def refused(content: bytes) -> list[Problem]:
    result = outcome(content)
    assert isinstance(result, list), "hostile content was accepted"
    return result


# -- anything at all ----------------------------------------------------------------------------
@FUZZ
@given(content=mutated_diagram())
def test_a_mutated_shipped_diagram_is_a_definition_or_a_list_of_problems(content):
    outcome(content)


@FUZZ
@given(content=damaged_bytes())
def test_damaged_bytes_are_a_definition_or_a_list_of_problems(content):
    outcome(content)


@FUZZ
@given(content=st.binary(max_size=300) | XML_TEXT.map(str.encode))
def test_arbitrary_bytes_are_refused_with_a_problem(content):
    refused(content)


@settings(FUZZ, max_examples=15)
@given(
    name=st.sampled_from(SHIPPED),
    text=st.text(max_size=30),
    where=st.sampled_from(['name="', "<bpmn:documentation>", "<bpmn:script>"]),
)
def test_unicode_of_any_kind_in_names_and_scripts(name, text, where):
    """Surrogates (not UTF-8 at all), NUL and other controls, RTL overrides, BOMs, noncharacters."""
    content = (BPMN_DIR / name).read_bytes().decode("utf-8")
    content = content.replace(where, where + text, 1)
    result = outcome(content.encode("utf-8", "surrogatepass"))
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert [p.message for p in result] == [
            "the file is not UTF-8; save it as UTF-8 and try again"
        ]


@pytest.mark.parametrize("declaration", DECLARATIONS)
def test_a_declared_encoding_other_than_utf8_is_refused_or_harmless(declaration):
    result = outcome(declaration + b"\n" + body_of("referral.bpmn"))
    encoding = re.search(rb"encoding=.([\w-]+)", declaration)
    if encoding and encoding.group(1).lower() != b"utf-8":
        assert result == [
            Problem(
                None,
                1,
                f"the file declares encoding {encoding.group(1).decode()!r}; "
                "save it as UTF-8 and try again",
            )
        ]


def test_a_utf8_byte_order_mark_is_fine_and_a_utf16_file_is_not_utf8():
    content = (BPMN_DIR / "referral.bpmn").read_bytes()
    assert isinstance(outcome(b"\xef\xbb\xbf" + content), ParsedDefinition)
    utf16 = content.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert [p.message for p in refused(utf16)] == [
        "the file is not UTF-8; save it as UTF-8 and try again"
    ]


# -- XML bombs and reaching outside -------------------------------------------------------------
@pytest.fixture(scope="module")
def listener():
    with listening_port() as server:
        yield server


@pytest.fixture(scope="module")
def secret(tmp_path_factory) -> tuple[str, str]:
    text = f"secret-{uuid.uuid4().hex}"
    path = tmp_path_factory.mktemp("secret") / "secret.txt"
    path.write_text(text)
    return text, str(path)


def _doctype(kind: str, size: int, secret_path: str, port: int) -> str:
    """A DOCTYPE whose entity ``e`` does harm when expanded; ``size`` scales the harm."""
    if kind == "billion-laughs":
        entities = ['<!ENTITY e0 "lol">']
        entities += [f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, size)]
        entities.append(f'<!ENTITY e "&e{size - 1};">')
        return "<!DOCTYPE d [" + "".join(entities) + "]>"
    if kind == "quadratic-blowup":  # one large entity, referenced many times below
        return f'<!DOCTYPE d [<!ENTITY e "{"a" * 1000 * size}">]>'
    if kind == "file-entity":
        return f'<!DOCTYPE d [<!ENTITY e SYSTEM "file://{secret_path}">]>'
    if kind == "etc-passwd":
        return '<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    if kind == "parameter-entity":
        return f'<!DOCTYPE d [<!ENTITY % p SYSTEM "file://{secret_path}"> %p; <!ENTITY e "x">]>'
    if kind == "external-dtd":
        return f'<!DOCTYPE d SYSTEM "http://127.0.0.1:{port}/evil.dtd">'
    if kind == "public-dtd":
        return f'<!DOCTYPE d PUBLIC "-//EVIL//DTD" "http://127.0.0.1:{port}/evil.dtd">'
    if kind == "local-dtd":
        return f'<!DOCTYPE d SYSTEM "file://{secret_path}">'
    raise AssertionError(kind)


BOMBS = [
    "billion-laughs",
    "quadratic-blowup",
    "file-entity",
    "etc-passwd",
    "parameter-entity",
    "external-dtd",
    "public-dtd",
    "local-dtd",
]
# Where the entity is used: at the start of attribute values, or of text between tags.
SLOTS = re.compile(r'(?<==")|(?<=>)(?=[^<\s])')


@settings(FUZZ, max_examples=30)
@given(
    name=st.sampled_from(SHIPPED),
    kind=st.sampled_from(BOMBS),
    size=st.integers(2, 12),
    uses=st.integers(0, 50),
    data=st.data(),
)
def test_xml_bombs_and_external_entities_are_refused_unexpanded(
    name, kind, size, uses, data, secret, listener
):
    text, path = secret
    body = body_of(name).decode("utf-8")
    slots = [m.start() for m in SLOTS.finditer(body)]
    for at in sorted(data.draw(st.lists(st.sampled_from(slots), max_size=uses)), reverse=True):
        body = body[:at] + "&e;" + body[at:]
    doctype = _doctype(kind, size, path, listener.getsockname()[1])
    problems = refused(PROLOG + (doctype + "\n" + body).encode("utf-8"))

    assert problems == [Problem(None, 1, DOCTYPE_REFUSED)]
    assert not was_contacted(listener)
    assert text not in str(problems)


@settings(FUZZ, max_examples=20)
@given(
    name=st.sampled_from(SHIPPED),
    href=st.sampled_from(["file:///etc/passwd", "SECRET", "http://127.0.0.1:PORT/x.bpmn"]),
    parse=st.sampled_from(["text", "xml"]),
    data=st.data(),
)
def test_xinclude_anywhere_is_refused_and_never_followed(name, href, parse, data, secret, listener):
    text, path = secret
    href = href.replace("SECRET", f"file://{path}")
    href = href.replace("PORT", str(listener.getsockname()[1]))
    include = (
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{href}" parse="{parse}"/>'
    )
    content = (BPMN_DIR / name).read_text("utf-8")
    closing = [m.start() for m in re.finditer(r"</bpmn:(?!definitions)\w+>", content)]
    at = data.draw(st.sampled_from(closing))
    problems = refused((content[:at] + include + content[at:]).encode("utf-8"))

    assert any(p.message.startswith("XInclude is not allowed") for p in problems)
    assert not was_contacted(listener)
    assert text not in str(problems) and "root:" not in str(problems)


# -- size and depth ------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [257, 10_000, 100_000])
@pytest.mark.parametrize("where", ["<bpmn:extensionElements>", "<bpmn:process "])
def test_deep_nesting_is_refused_at_once(depth, where):
    content = (BPMN_DIR / "referral.bpmn").read_bytes()
    marker = where.encode()
    nest = b"<x>" * depth + b"</x>" * depth
    if where.endswith(" "):  # before the process, inside a documentation element
        nest = b"<bpmn:documentation>" + nest + b"</bpmn:documentation>"
        content = content.replace(marker, nest + marker, 1)
    else:
        content = content.replace(marker, marker + nest, 1)

    problems = refused(content)

    assert len(problems) == 1
    assert problems[0].message == f"malformed XML: {NESTED_TOO_DEEPLY}"


def test_a_flood_of_elements_is_refused_before_the_checks_run():
    marker = b"<bpmn:extensionElements>"
    content = (BPMN_DIR / "referral.bpmn").read_bytes()
    content = content.replace(marker, marker + b"<x/>" * 1_000_000, 1)

    assert refused(content) == [Problem(None, 1, "the file has more than 20000 elements")]


# -- due times: bounded, or a worker counts working days for hours -------------------------------
@pytest.mark.parametrize(
    ("due", "message"),
    [
        ("99999999WD", "is more than a year (260WD)"),
        ("261WD", "is more than a year (260WD)"),
        ("9" * 5000 + "WH", "is more than a year (2080WH)"),
        ("PT99999999999999999999H", "is not understood"),
        ("P99999999999Y", "must be more than nothing and at most a year"),
        ("P2Y", "must be more than nothing and at most a year"),
        ("-P1D", "must be more than nothing and at most a year"),
        ("PT0S", "must be more than nothing and at most a year"),
    ],
)
def test_a_due_time_beyond_a_year_or_not_ahead_is_refused(due, message):
    content = (BPMN_DIR / "referral.bpmn").read_text("utf-8")
    content = re.sub(r'camunda:dueDate="[^"]*"', f'camunda:dueDate="{due}"', content, count=1)

    problems = refused(content.encode("utf-8"))

    assert len(problems) == 1 and message in problems[0].message


@pytest.mark.parametrize("due", ["260WD", "2080WH", "P1Y", "PT4H", "same-day"])
def test_a_due_time_up_to_a_year_is_accepted(due):
    content = (BPMN_DIR / "referral.bpmn").read_text("utf-8")
    content = re.sub(r'camunda:dueDate="[^"]*"', f'camunda:dueDate="{due}"', content, count=1)

    assert isinstance(outcome(content.encode("utf-8")), ParsedDefinition)
