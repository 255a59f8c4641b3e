"""retention: tombstones on the audit trail and the sharing register

Revision ID: 0008
Revises: 0007

Both chains get ``purged_at`` and ``tombstone`` (a hash over the row's original hash and the
fields it keeps). The register's append-only trigger is replaced by one that still refuses
every update and delete except the retention purge: it may only null the identifying text
columns, set ``reasons`` to the purge marker and set ``purged_at``/``tombstone`` once, leaving
the decision, the dates, the consent, the lawful basis, the method and the chain untouched.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MESSAGE = "sharing_record is append-only: record a correction instead"
# The same lists as records.register.KEPT/IDENTIFYING, copied on purpose: a migration
# is frozen at its revision and must not change when the application's code does.
PURGED = "(purged)"
KEPT = (
    "id",
    "instance_id",
    "source_task_id",
    "decision",
    "with_consent",
    "consent_status",
    "lawful_basis",
    "method",
    "necessity_and_proportionality",
    "advice_sought_from",
    "subject_informed",
    "decided_by",
    "decided_at",
    "recorded_at",
    "corrects",
    "prev_hash",
    "hash",
)
NULLED = (
    "child",
    "consent_override_reason",
    "purpose",
    "information_shared",
    "views_of_child_or_family",
    "not_informed_reason",
)


def _purge_only(old: str, new: str) -> str:
    """SQL that is true only for the one update a retention purge makes."""
    same = " AND ".join(f"{new}.{c} IS NOT DISTINCT FROM {old}.{c}" for c in KEPT)
    nulled = " AND ".join(f"{new}.{c} IS NULL" for c in NULLED)
    return (
        f"{old}.purged_at IS NULL AND {new}.purged_at IS NOT NULL "
        f"AND {new}.tombstone IS NOT NULL AND {new}.reasons = '{PURGED}' AND {same} AND {nulled}"
    )


PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION sharing_record_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {_purge_only("OLD", "NEW")} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""
# SQLite spells IS NOT DISTINCT FROM as IS.
SQLITE_UPDATE = f"""
CREATE TRIGGER sharing_record_no_update
BEFORE UPDATE ON sharing_record
WHEN NOT ({_purge_only("OLD", "NEW").replace("IS NOT DISTINCT FROM", "IS")})
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END
"""
SQLITE_UPDATE_0006 = f"""
CREATE TRIGGER sharing_record_no_update
BEFORE UPDATE ON sharing_record
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END
"""
PG_FUNCTION_0006 = f"""
CREATE OR REPLACE FUNCTION sharing_record_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    for table in ("audit_event", "sharing_record"):
        op.add_column(
            table, sa.Column("purged_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        op.add_column(table, sa.Column("tombstone", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
    else:
        op.execute("DROP TRIGGER sharing_record_no_update")
        op.execute(SQLITE_UPDATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION_0006)
    else:
        op.execute("DROP TRIGGER sharing_record_no_update")
        op.execute(SQLITE_UPDATE_0006)
    for table in ("audit_event", "sharing_record"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tombstone")
            batch.drop_column("purged_at")
