"""sharing register: linked entries (``follows``), still append-only and purge-only

Revision ID: 0015
Revises: 0014

A linked entry records what happened after a decision (the family told, or not and why) as a
new row naming the entry it follows, instead of changing that entry. ``follows`` is covered by
the row's hash when set (``records.register.HASHED_WHEN_SET``), so rows chained before
this revision keep their digests. The append-only trigger of 0008 is replaced by the same rule
with ``follows`` among the columns a retention purge must leave unchanged: without it a purge
could have relinked an entry.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

MESSAGE = "sharing_record is append-only: record a correction instead"
# Copied from 0008 on purpose (a migration is frozen at its revision), plus ``follows``.
PURGED = "(purged)"
KEPT_0008 = (
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


def _purge_only(old: str, new: str, kept: tuple[str, ...]) -> str:
    """SQL that is true only for the one update a retention purge makes."""
    same = " AND ".join(f"{new}.{c} IS NOT DISTINCT FROM {old}.{c}" for c in kept)
    nulled = " AND ".join(f"{new}.{c} IS NULL" for c in NULLED)
    return (
        f"{old}.purged_at IS NULL AND {new}.purged_at IS NOT NULL "
        f"AND {new}.tombstone IS NOT NULL AND {new}.reasons = '{PURGED}' AND {same} AND {nulled}"
    )


def _pg_function(kept: tuple[str, ...]) -> str:
    return f"""
CREATE OR REPLACE FUNCTION sharing_record_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND {_purge_only("OLD", "NEW", kept)} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""


def _sqlite_update(kept: tuple[str, ...]) -> str:
    # SQLite spells IS NOT DISTINCT FROM as IS.
    rule = _purge_only("OLD", "NEW", kept).replace("IS NOT DISTINCT FROM", "IS")
    return f"""
CREATE TRIGGER sharing_record_no_update
BEFORE UPDATE ON sharing_record
WHEN NOT ({rule})
BEGIN
    SELECT RAISE(ABORT, '{MESSAGE}');
END
"""


def _replace_trigger(kept: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function(kept))
    else:
        op.execute("DROP TRIGGER sharing_record_no_update")
        op.execute(_sqlite_update(kept))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("sharing_record", sa.Column("follows", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "sharing_record_follows_fkey", "sharing_record", "sharing_record", ["follows"], ["id"]
        )
    else:
        # SQLite adds a column with its REFERENCES clause in place; batch mode would rebuild
        # the table and drop its append-only triggers.
        op.execute(
            "ALTER TABLE sharing_record ADD COLUMN follows INTEGER REFERENCES sharing_record (id)"
        )
    _replace_trigger((*KEPT_0008, "follows"))


def downgrade() -> None:
    _replace_trigger(KEPT_0008)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("sharing_record_follows_fkey", "sharing_record", type_="foreignkey")
        op.drop_column("sharing_record", "follows")
    else:
        op.execute("ALTER TABLE sharing_record DROP COLUMN follows")
