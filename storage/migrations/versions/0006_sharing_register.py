"""sharing register: append-only, hash-chained decisions to share or not

Revision ID: 0006
Revises: 0005

Updates and deletes of ``sharing_record`` are refused by the database itself: a trigger function
on PostgreSQL, ``RAISE(ABORT)`` triggers on SQLite.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MESSAGE = "sharing_record is append-only: record a correction instead"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION sharing_record_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER sharing_record_append_only
BEFORE UPDATE OR DELETE ON sharing_record
FOR EACH ROW EXECUTE FUNCTION sharing_record_append_only()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER sharing_record_no_{action}
BEFORE {verb} ON sharing_record
BEGIN
    SELECT RAISE(ABORT, '{message}');
END
"""


def upgrade() -> None:
    op.create_table(
        "sharing_record",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("source_task_id", sa.String(length=36), nullable=True),
        sa.Column("child", sa.String(length=200), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("with_consent", sa.Boolean(), nullable=False),
        sa.Column("consent_status", sa.String(length=40), nullable=True),
        sa.Column("consent_override_reason", sa.Text(), nullable=True),
        sa.Column("lawful_basis", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("information_shared", sa.Text(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=True),
        sa.Column("necessity_and_proportionality", sa.Text(), nullable=True),
        sa.Column("advice_sought_from", sa.String(length=80), nullable=True),
        sa.Column("views_of_child_or_family", sa.Text(), nullable=True),
        sa.Column("subject_informed", sa.Boolean(), nullable=True),
        sa.Column("not_informed_reason", sa.Text(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("corrects", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["corrects"], ["sharing_record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("source_task_id"),
    )
    op.create_index("ix_sharing_record_child", "sharing_record", ["child", "id"])
    op.create_index("ix_sharing_record_instance", "sharing_record", ["instance_id"])
    op.create_index("ix_sharing_record_decided_at", "sharing_record", ["decided_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for action, verb in (("update", "UPDATE"), ("delete", "DELETE")):
            op.execute(SQLITE_TRIGGER.format(action=action, verb=verb, message=MESSAGE))


def downgrade() -> None:
    op.drop_table("sharing_record")  # drops its triggers too
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS sharing_record_append_only()")
