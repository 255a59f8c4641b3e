"""The registry of agencies: what a user's agency may be, kept by administrators.

Why here and not in a page: the administration pages and the command line
(``safeguard agencies ...``, ``safeguard users ...``) check against the same rows with the same
words, so a typo such as ``schoool`` is refused everywhere with the list of valid agencies.

The codes the diagrams and the sharing register name (``workflows.rules.AGENCIES``: a second
agency on a task, the Board's report by agency) are seeded by migration 0021 and cannot be
retired: a diagram that offers ``police`` must find police users. New agencies hold users; a
diagram's agency fields keep to that vocabulary (docs/security.md, "Administration").
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.administration import Agency
from workflows.errors import InvalidInput, NotFound
from workflows.rules import AGENCIES


class Invalid(InvalidInput, ValueError):
    """Details an administrator gave that cannot be used: ``problems`` maps each field to what
    is wrong with it (a page shows each beside its field; the command line prints them all).
    Also a ``ValueError``, as the user functions' refusals always were."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        field, message = next(iter(self.problems.items()))
        super().__init__("; ".join(self.problems.values()), field=field)


CODE = re.compile(r"[a-z][a-z0-9_]{1,79}")
LABEL_LENGTH = 200


def registry(session: Session) -> list[Agency]:
    """Every agency, active ones first, by label."""
    rows = session.scalars(select(Agency))
    return sorted(rows, key=lambda a: (not a.active, a.label.casefold()))


def active_codes(session: Session) -> list[str]:
    return sorted(session.scalars(select(Agency.code).where(Agency.active.is_(True))))


def check_agency(session: Session, code: str, field: str = "agency") -> None:
    """Refuse an agency that is not an active one of the registry, listing those that are."""
    valid = active_codes(session)
    if code not in valid:
        shown = code[:80]
        raise Invalid({field: f"unknown agency {shown!r}; the agencies are: {', '.join(valid)}"})


def snapshot(agency: Agency | None) -> dict | None:
    """What the audit trail records of an agency before and after a change."""
    if agency is None:
        return None
    return {"code": agency.code, "label": agency.label, "active": agency.active}


def _label(label: str) -> str:
    label = " ".join(label.split())
    if not label or len(label) > LABEL_LENGTH:
        raise Invalid({"label": f"the name must be 1 to {LABEL_LENGTH} characters"})
    return label


def add_agency(session: Session, code: str, label: str) -> Agency:
    """A new active agency; its code is permanent (users and records name it)."""
    if not CODE.fullmatch(code):
        shape = "2 to 80 lower-case letters, digits or _, starting with a letter"
        raise Invalid({"code": f"the code must be {shape}"})
    label = _label(label)
    if session.get(Agency, code) is not None:
        raise Invalid({"code": f"there is already an agency {code!r}"})
    agency = Agency(code=code, label=label, active=True)
    session.add(agency)
    session.flush()
    return agency


def find_agency(session: Session, code: str) -> Agency:
    agency = session.get(Agency, code[:80])
    if agency is None:
        raise NotFound(f"no agency {code[:80]!r}")
    return agency


def edit_agency(
    session: Session, agency: Agency, *, label: str | None = None, active: bool | None = None
) -> tuple[dict, dict]:
    """Rename or retire/restore ``agency``; returns (before, after) for the audit trail."""
    before = snapshot(agency)
    if label is not None:
        agency.label = _label(label)
    if active is False and agency.code in AGENCIES:
        raise Invalid(
            {
                "active": f"{agency.code} is named by the diagrams and the sharing register; "
                "it cannot be retired"
            }
        )
    if active is not None:
        agency.active = active
    session.flush()
    return before, snapshot(agency)
