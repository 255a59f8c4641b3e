"""``docs/protocol.md`` stays true: every element id it names is in that process's diagram, and
every test it cites exists.

A safeguarding lead reads that page to see where each clause of the protocol is implemented and
which test proves it; a renamed element or test would otherwise leave it pointing at nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "protocol.md"
PROCESSES = ("information_sharing", "referral", "early_help_caf", "escalation")
ROW = re.compile(r"^\|(?P<clause>[^|]+)\|(?P<elements>[^|]+)\|(?P<tests>[^|]+)\|\s*$")
ELEMENTS = re.compile(r"(?P<process>[a-z_]+): (?P<ids>(?:`[A-Za-z0-9_]+`(?:, )?)+)")
TEST = re.compile(r"`(?P<file>tests/[\w/]+\.py)::(?P<name>\w+)(?:\[(?P<row>[^\]]+)\])?`")


def _rows() -> list[re.Match]:
    rows = [ROW.match(line) for line in PAGE.read_text(encoding="utf-8").splitlines()]
    headers = {"Rule", ""}
    return [
        r
        for r in rows
        if r and r["clause"].strip().strip("-") and r["clause"].strip() not in headers
    ]


def _ids(process: str) -> set[str]:
    root = etree.parse(str(ROOT / "bpmn" / f"{process}.bpmn")).getroot()
    return {element.get("id") for element in root.iter() if element.get("id")}


def test_every_element_named_is_in_its_diagram():
    rows = _rows()
    assert len(rows) >= 19, "one row per point of the protocol at least"
    known = {process: _ids(process) for process in PROCESSES}
    missing = []
    for row in rows:
        for match in ELEMENTS.finditer(row["elements"]):
            assert match["process"] in known, (row["clause"], match["process"])
            for element in re.findall(r"`([A-Za-z0-9_]+)`", match["ids"]):
                if element not in known[match["process"]]:
                    missing.append((row["clause"].strip(), match["process"], element))
    assert missing == []


def test_every_test_cited_exists():
    missing = []
    for row in _rows():
        cited = list(TEST.finditer(row["tests"]))
        assert cited, f"{row['clause'].strip()}: no test cited"
        for match in cited:
            path = ROOT / match["file"]
            text = path.read_text(encoding="utf-8") if path.exists() else ""
            if f"def {match['name']}(" not in text:
                missing.append((match["file"], match["name"]))
            elif match["row"] and f'"{match["row"]}' not in text:
                missing.append((match["file"], match["row"]))
    assert missing == []
