"""No hidden count of a report can be worked out from the counts that are published."""

from __future__ import annotations

import itertools

import pytest

from records.disclosure import CONFIDENTIAL, SUPPRESSED, publish

DECISIONS = [
    ("total", [("outcome", "share"), ("outcome", "not_share")]),
    ("total", [("month", "2026-03"), ("month", "2026-04"), ("month", "2026-05")]),
    (("outcome", "share"), [("consent", "with"), ("consent", "without")]),
]


def _counts(total_by_outcome, months, consent) -> dict:
    share, not_share = total_by_outcome
    counts = {"total": share + not_share}
    counts |= {("outcome", "share"): share, ("outcome", "not_share"): not_share}
    counts |= {
        ("month", m): n for m, n in zip(("2026-03", "2026-04", "2026-05"), months, strict=True)
    }
    counts |= {("consent", "with"): consent[0], ("consent", "without"): consent[1]}
    return counts


def _derivable(published: dict, groups) -> set:
    """Hidden cells an attacker can compute exactly: a group whose parent is known and whose
    other cells are all known, or a parent whose cells are all known; repeated until stable."""
    known = {k: v for k, v in published.items() if isinstance(v, int)}
    found = True
    while found:
        found = False
        for parent, cells in groups:
            unknown = [c for c in cells if c not in known]
            if parent in known and len(unknown) == 1:
                known[unknown[0]] = known[parent] - sum(known[c] for c in cells if c in known)
                found = True
            elif parent not in known and not unknown:
                known[parent] = sum(known[c] for c in cells)
                found = True
    return {k for k, v in published.items() if not isinstance(v, int) and k in known}


@pytest.mark.parametrize(
    ("outcome", "months", "consent"),
    [
        ((7, 1), (8, 0, 0), (5, 2)),  # one small cell under a published total
        ((20, 3), (10, 9, 4), (17, 3)),
        ((6, 0), (2, 2, 2), (6, 0)),  # the total is fine, every month small
        ((4, 0), (4, 0, 0), (4, 0)),  # everything small
        ((12, 5), (6, 6, 5), (9, 3)),  # share stays published: consent needs a second cell
        ((9, 2), (11, 0, 0), (7, 2)),  # share withheld: then its consent split must not add up
    ],
)
def test_no_hidden_count_can_be_worked_out(outcome, months, consent):
    counts = _counts(outcome, months, consent)
    published = publish(counts, DECISIONS)
    for key, count in counts.items():
        if 0 < count < 5:
            assert published[key] == SUPPRESSED, key
        elif count == 0:
            assert published[key] == 0, key  # an empty cell is always shown
        else:
            assert published[key] in (count, CONFIDENTIAL), key
    assert _derivable(published, DECISIONS) == set()


def test_a_small_cell_alone_under_its_total_takes_the_smallest_other_with_it():
    counts = {"total": 30, "a": 20, "b": 7, "c": 3}
    assert publish(counts, [("total", ["a", "b", "c"])]) == {
        "total": 30,
        "a": 20,
        "b": CONFIDENTIAL,
        "c": SUPPRESSED,
    }


def test_every_combination_of_small_tables_is_safe():
    """Exhaustively over small numbers: whatever the counts, nothing hidden is derivable."""
    for share, not_share, m1, c1 in itertools.product(
        range(0, 9), range(0, 7), range(0, 9), range(0, 9)
    ):
        total = share + not_share
        if m1 > total or c1 > share:
            continue
        counts = _counts((share, not_share), (m1, total - m1, 0), (c1, share - c1))
        published = publish(counts, DECISIONS)
        assert _derivable(published, DECISIONS) == set(), counts
