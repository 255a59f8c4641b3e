"""need-to-know per instance, read off the work: drop case_party, add started_from

Being a party to an instance is now read off its rows (who started it, holds or completed its
tasks, may claim them; tasks/parties.py), so the case_party table - which anyone who recorded a
consent or started any process for a child could join, and which nobody ever left - goes. A
hand-off records the instance it came from in process_instance.started_from.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("started_from", sa.String(36), nullable=True))
    # Partial: with every key NULL, SQLite's statistics made the planner scan process_instance
    # for each need-to-know probe instead of using the index (12 s for a worklist page of 20 000
    # cases, 27 ms with this index; benchmarks/worklist.py).
    op.create_index(
        "ix_process_instance_started_from",
        "process_instance",
        ["started_from"],
        postgresql_where=sa.text("started_from IS NOT NULL"),
        sqlite_where=sa.text("started_from IS NOT NULL"),
    )
    op.drop_index("ix_case_party_case", table_name="case_party")
    op.drop_table("case_party")


def downgrade() -> None:
    op.create_table(
        "case_party",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_key", sa.String(200), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("why", sa.String(40), nullable=False),
        sa.Column("since", storage.types.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("username", "case_key", name="uq_case_party_user_case"),
    )
    op.create_index("ix_case_party_case", "case_party", ["case_key"])
    op.drop_index("ix_process_instance_started_from", table_name="process_instance")
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("started_from")
