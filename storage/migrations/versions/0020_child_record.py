"""child record: a child's display name, date of birth and one identifier, by business key

Revision ID: 0020
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "child_record",
        sa.Column("business_key", sa.String(200), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("nhs_number", sa.String(10), nullable=True),
        sa.Column("la_person_id", sa.String(50), nullable=True),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", storage.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "nhs_number IS NULL OR la_person_id IS NULL", name="ck_child_record_one_identifier"
        ),
    )


def downgrade() -> None:
    op.drop_table("child_record")
