"""Which counts of a report may be published: small numbers and the cells that would give them away.

A count from 1 to 4 is shown as ``"<5"`` (primary suppression). That alone is not enough where a
table adds up to a published total: 9 decisions, 7 of them "share", the other "<5" — anyone can
work out the 2. So wherever a group of cells adds up to another cell of the report (its parent),
this module also withholds, as ``"[c]"`` (the Government Statistical Service's mark for
confidential), enough further cells that no hidden count can be derived by subtraction:

- a published parent with exactly one hidden non-zero cell under it: the smallest published
  non-zero cell of the group is withheld too (two unknowns, one sum);
- a hidden parent whose non-zero cells are all published: their sum would give the parent away,
  so the smallest of them is withheld.

Withholding a cell can make another group's parent hidden, so the rules run until nothing
changes. Zero cells are always shown: an empty cell discloses nothing about a person.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

SMALL = 5
SUPPRESSED = "<5"
CONFIDENTIAL = "[c]"

Count = int | str
Key = Hashable


def suppress(count: int) -> Count:
    """``count`` as it may be published on its own: 1–4 become ``"<5"``."""
    return SUPPRESSED if 0 < count < SMALL else count


def publish(
    counts: Mapping[Key, int], groups: Sequence[tuple[Key, Sequence[Key]]]
) -> dict[Key, Count]:
    """Every count as it may be published, given ``(parent, cells that add up to it)`` groups."""
    hidden = {key: SUPPRESSED for key, count in counts.items() if 0 < count < SMALL}
    changed = True
    while changed:
        changed = False
        for parent, cells in groups:
            nonzero = [cell for cell in cells if counts[cell] > 0]
            shown = [cell for cell in nonzero if cell not in hidden]
            withheld = len(nonzero) - len(shown)
            gives_away = withheld == 1 if parent not in hidden else withheld == 0
            if gives_away and shown:
                smallest = min(shown, key=lambda cell: (counts[cell], str(cell)))
                hidden[smallest] = CONFIDENTIAL
                changed = True
    return {key: hidden.get(key, count) for key, count in counts.items()}
