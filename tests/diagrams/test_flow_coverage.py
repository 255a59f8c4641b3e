"""Every sequence flow of every shipped diagram is taken by at least one path of its table.

The tables are walked again here (in memory, milliseconds), so the check holds however the
path tests are selected or ordered.
"""

from __future__ import annotations

import pytest

from tests.diagrams.tables import TABLES
from tests.diagrams.walking import SHIPPED, flows, walk


def test_every_shipped_diagram_has_a_path_table():
    assert set(TABLES) == set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_sequence_flow_is_taken(name: str):
    taken: set[str] = set()
    for path in TABLES[name]:
        taken |= walk(name, path).flows_taken()
    never = sorted(set(flows(name).values()) - taken)
    assert never == [], f"{name}: no path takes {never}"
