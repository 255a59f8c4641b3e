"""The child record: checking, keeping and reading the few details that find a child again.

A practitioner who can only type a URL loses the child (issue 17). The record keeps what a
person needs to recognise the child - a display name, a date of birth, one identifier - and no
more: it is recorded once, by whoever starts the child's first process with it, and every later
process of the child reuses it rather than asking again (and never overwrites it: two starters
with two spellings would otherwise take turns rewriting the child). Need-to-know is the case's:
only those who may see the case see the record, and retention purges it with the case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.children import ChildRecord
from workflows.errors import Conflict

FIELDS = ("display_name", "date_of_birth", "nhs_number", "la_person_id")
NAME_LENGTH = 200
LA_PERSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.-]{0,49}")
NHS_SEPARATORS = re.compile(r"[\s-]")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
UK_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


@dataclass(frozen=True)
class ChildDetails:
    """Checked details, as they are stored: a name, a date, ten digits, or a person id."""

    display_name: str | None = None
    date_of_birth: date | None = None
    nhs_number: str | None = None
    la_person_id: str | None = None


class DetailsInvalid(Exception):
    """Details that cannot be recorded; ``problems`` are (field, message) pairs, one a field."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("The child's details are not valid.")


def nhs_number_valid(digits: str) -> bool:
    """Ten digits whose last is the modulus 11 check digit of the other nine (weights 10 to 2;
    11 - remainder, where 11 means 0 and 10 means no number is ever issued)."""
    if not re.fullmatch(r"[0-9]{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 10:
        return False
    return (0 if check == 11 else check) == int(digits[9])


def nhs_digits(text: str) -> str:
    """An NHS number as people write it ("943 476 5919", "943-476-5919") as its ten digits."""
    return NHS_SEPARATORS.sub("", text)


def parse_date(text: str) -> date | None:
    """A date written as ``YYYY-MM-DD`` (what a date input sends) or ``DD/MM/YYYY`` (what people
    in England type); ``None`` for anything else, or for no such day."""
    text = text.strip()
    try:
        if found := ISO_DATE.fullmatch(text):
            return date(int(found[1]), int(found[2]), int(found[3]))
        if found := UK_DATE.fullmatch(text):
            return date(int(found[3]), int(found[2]), int(found[1]))
    except ValueError:
        return None
    return None


def check(raw: Mapping[str, object] | None, today: date) -> ChildDetails | None:
    """The details ``raw`` gives (strings; blank means not given), checked; ``None`` when none
    is given. Every problem at once (:class:`DetailsInvalid`), each naming its field."""
    if not raw:
        return None
    problems: list[tuple[str, str]] = [(k, "unknown field") for k in raw if k not in FIELDS]
    given: dict[str, str] = {}
    for name in FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append((name, "must be a string"))
        elif value.strip():
            given[name] = value.strip()
    details: dict[str, object] = {}
    name = given.get("display_name")
    if name is not None:
        if len(name) > NAME_LENGTH or CONTROL.search(name):
            problems.append(("display_name", f"must be at most {NAME_LENGTH} printable characters"))
        details["display_name"] = name
    if "date_of_birth" in given:
        born = parse_date(given["date_of_birth"])
        if born is None:
            problems.append(("date_of_birth", "must be a real date, as YYYY-MM-DD or DD/MM/YYYY"))
        elif born > today:
            problems.append(("date_of_birth", "must not be in the future"))
        details["date_of_birth"] = born
    if "nhs_number" in given:
        digits = nhs_digits(given["nhs_number"])
        if not nhs_number_valid(digits):
            problems.append(("nhs_number", "must be 10 digits with a valid check digit"))
        details["nhs_number"] = digits
    if "la_person_id" in given:
        if not LA_PERSON_ID.fullmatch(given["la_person_id"]):
            problems.append(
                ("la_person_id", "must be 1 to 50 letters, digits or / _ . - (no spaces)")
            )
        details["la_person_id"] = given["la_person_id"]
    if "nhs_number" in given and "la_person_id" in given:
        problems.append(("la_person_id", "give the NHS number or the local person id, not both"))
    if problems:
        raise DetailsInvalid(problems)
    return ChildDetails(**details) if details else None  # type: ignore[arg-type]


def find(session: Session, business_key: str) -> ChildRecord | None:
    """The child's record, or ``None``. The caller has checked the reader may see the case."""
    return session.get(ChildRecord, business_key)


def of_children(session: Session, keys: Iterable[str]) -> dict[str, ChildRecord]:
    """The records of several children (a page of My cases), by business key."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = session.scalars(select(ChildRecord).where(ChildRecord.business_key.in_(wanted)))
    return {row.business_key: row for row in rows}


def record(
    session: Session, business_key: str, details: ChildDetails, by: str, now: datetime
) -> tuple[ChildRecord, bool]:
    """Keep ``details`` as the child's record unless the child has one already: (the record,
    whether it was made now). Two first starts for one child at once: one wins, the other is
    a :class:`Conflict` (409) and is told to try again, when it will reuse the winner's."""
    found = find(session, business_key)
    if found is not None:
        return found, False
    row = ChildRecord(
        business_key=business_key,
        display_name=details.display_name,
        date_of_birth=details.date_of_birth,
        nhs_number=details.nhs_number,
        la_person_id=details.la_person_id,
        recorded_by=by,
        recorded_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(
            "Someone recorded this child's details at the same moment; try again."
        ) from None
    return row, True
