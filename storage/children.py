"""The child record: the few details that let a practitioner find a child again.

Minimal by design (issue 17): a display name, a date of birth and at most one identifier (an
NHS number or the local authority's person id), keyed by the child's ``business_key`` - one
record per child, shared by all of the child's processes. It sits beside ``storage/models.py``
(which is full) on the same ``Base``, so Alembic and the tests' truncation see it; the package
``storage`` imports this module, so whoever loads the models loads this table too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import UTCDateTime


class ChildRecord(Base):
    """One child's details, shown only to those who may see the child's case (tasks/parties.py)
    and purged with the case's data (records/retention.py)."""

    __tablename__ = "child_record"
    __table_args__ = (
        # One identifier or none: two would invite a mismatch nobody could settle later.
        CheckConstraint(
            "nhs_number IS NULL OR la_person_id IS NULL", name="ck_child_record_one_identifier"
        ),
    )

    business_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    nhs_number: Mapped[str | None] = mapped_column(String(10))  # ten digits, check digit valid
    la_person_id: Mapped[str | None] = mapped_column(String(50))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
