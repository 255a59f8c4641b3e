"""sharing register without a lock: entries inserted unsealed, chained later by the sealer

Revision ID: 0017
Revises: 0016

Recording an entry no longer reads the register's last row under an advisory lock: ``id`` comes
from the database (a sequence on PostgreSQL, the rowid on SQLite) and ``seq``, ``prev_hash``,
``hash`` and ``sealed_at`` stay null until the sealer that chains the audit trail
(``records/sealing.py``) chains the entry. ``audit_seal`` row 2 holds the register's head.
Existing entries are sealed already: ``seq`` = ``id`` (the chain was walked by ``id``, gap-free),
``sealed_at`` = ``recorded_at``, every hashed column unchanged, so their digests still hold.

The append-only trigger now allows two updates and nothing else: the retention purge of a
*sealed* entry (as in 0015, with ``seq`` and ``sealed_at`` kept too) and the sealing itself —
from ``seq``, ``prev_hash`` and ``hash`` null to set, every other column unchanged. SQLite cannot
make a column nullable in place, so there the table is rebuilt (triggers recreated).
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

MESSAGE = "sharing_record is append-only: record a correction instead"
GENESIS = "0" * 64
# Written out on purpose (a migration is frozen at its revision): the columns of 0015.
PURGED = "(purged)"
NULLED = (
    "child",
    "consent_override_reason",
    "purpose",
    "information_shared",
    "views_of_child_or_family",
    "not_informed_reason",
)
CHAIN = ("seq", "prev_hash", "hash", "sealed_at")
COLUMNS_0015 = (
    "id",
    "instance_id",
    "source_task_id",
    "child",
    "decision",
    "with_consent",
    "consent_status",
    "consent_override_reason",
    "lawful_basis",
    "purpose",
    "information_shared",
    "recipients",
    "method",
    "necessity_and_proportionality",
    "advice_sought_from",
    "views_of_child_or_family",
    "subject_informed",
    "not_informed_reason",
    "reasons",
    "decided_by",
    "decided_at",
    "recorded_at",
    "corrects",
    "prev_hash",
    "hash",
    "purged_at",
    "tombstone",
    "follows",
)
# What a purge leaves as it was (0015's list): everything but what it empties or sets.
KEPT_0015 = tuple(
    c for c in COLUMNS_0015 if c not in (*NULLED, "recipients", "reasons", "purged_at", "tombstone")
)


def _same(old: str, new: str, columns, postgres: bool) -> str:
    def one(c: str) -> str:
        if postgres and c == "recipients":  # json has no equality operator on PostgreSQL
            return f"{new}.{c}::text IS NOT DISTINCT FROM {old}.{c}::text"
        return f"{new}.{c} IS NOT DISTINCT FROM {old}.{c}"

    return " AND ".join(one(c) for c in columns)


def _purge_only(old: str, new: str, kept, postgres: bool, sealed: bool) -> str:
    """SQL true only for the one update a retention purge makes (of a sealed entry)."""
    nulled = " AND ".join(f"{new}.{c} IS NULL" for c in NULLED)
    return (
        f"{f'{old}.seq IS NOT NULL AND ' if sealed else ''}"
        f"{old}.purged_at IS NULL AND {new}.purged_at IS NOT NULL "
        f"AND {new}.tombstone IS NOT NULL AND {new}.reasons = '{PURGED}' "
        f"AND {_same(old, new, kept, postgres)} AND {nulled}"
    )


def _seal_only(old: str, new: str, postgres: bool) -> str:
    """SQL true only for the sealer's update: the chain's columns set once, nothing else."""
    others = [c for c in COLUMNS_0015 if c not in CHAIN]
    return (
        f"{old}.seq IS NULL AND {old}.prev_hash IS NULL AND {old}.hash IS NULL "
        f"AND {new}.seq IS NOT NULL AND {new}.prev_hash IS NOT NULL AND {new}.hash IS NOT NULL "
        f"AND {new}.sealed_at IS NOT NULL AND {_same(old, new, others, postgres)}"
    )


def _rule(postgres: bool, sealing: bool) -> str:
    if not sealing:  # 0015's rule
        return _purge_only("OLD", "NEW", KEPT_0015, postgres, sealed=False)
    purge = _purge_only("OLD", "NEW", (*KEPT_0015, "seq", "sealed_at"), postgres, sealed=True)
    return f"({purge}) OR ({_seal_only('OLD', 'NEW', postgres)})"


def _pg_function(sealing: bool) -> str:
    return f"""
CREATE OR REPLACE FUNCTION sharing_record_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND ({_rule(True, sealing)}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""


def _sqlite_triggers(sealing: bool) -> None:
    rule = _rule(False, sealing).replace("IS NOT DISTINCT FROM", "IS")  # SQLite's spelling
    op.execute(
        "CREATE TRIGGER sharing_record_no_update BEFORE UPDATE ON sharing_record "
        f"WHEN NOT ({rule}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )
    op.execute(
        "CREATE TRIGGER sharing_record_no_delete BEFORE DELETE ON sharing_record "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )


def _sqlite_table(name: str, sealing: bool) -> None:
    when = storage.types.UTCDateTime(timezone=True)
    text, short = sa.Text(), sa.String(length=40)
    columns = {
        "instance_id": sa.String(length=36),
        "source_task_id": sa.String(length=36),
        "child": sa.String(length=200),
        "decision": sa.String(length=20),
        "with_consent": sa.Boolean(),
        "consent_status": short,
        "consent_override_reason": text,
        "lawful_basis": text,
        "purpose": text,
        "information_shared": text,
        "recipients": sa.JSON(),
        "method": short,
        "necessity_and_proportionality": text,
        "advice_sought_from": sa.String(length=80),
        "views_of_child_or_family": text,
        "subject_informed": sa.Boolean(),
        "not_informed_reason": text,
        "reasons": text,
        "decided_by": sa.String(length=80),
        "decided_at": when,
        "recorded_at": when,
        "corrects": sa.Integer(),
        "prev_hash": sa.String(length=64),
        "hash": sa.String(length=64),
        "purged_at": when,
        "tombstone": sa.String(length=64),
        "follows": sa.Integer(),
    }
    required = {"decision", "with_consent", "recipients", "reasons", "decided_at", "recorded_at"}
    if not sealing:
        required |= {"prev_hash", "hash"}
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=sealing, nullable=False),
        *([sa.Column("seq", sa.Integer(), nullable=True)] if sealing else []),
        *(sa.Column(c, t, nullable=c not in required) for c, t in columns.items()),
        *([sa.Column("sealed_at", when, nullable=True)] if sealing else []),
        sa.ForeignKeyConstraint(["corrects"], ["sharing_record.id"]),
        sa.ForeignKeyConstraint(["follows"], ["sharing_record.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("source_task_id"),
        *([sa.UniqueConstraint("seq")] if sealing else []),
    )


def _sqlite_rebuild(sealing: bool) -> None:
    """Copy the register into a table of the new shape; its rows are not changed, only moved."""
    op.execute("PRAGMA defer_foreign_keys = ON")  # the self-references hold again at commit
    _sqlite_table("sharing_record_new", sealing)
    columns = ", ".join(COLUMNS_0015)
    if sealing:
        op.execute(
            f"INSERT INTO sharing_record_new ({columns}, seq, sealed_at) "
            f"SELECT {columns}, id, recorded_at FROM sharing_record"
        )
    else:
        op.execute(
            f"INSERT INTO sharing_record_new ({columns}) SELECT {columns} FROM sharing_record"
        )
    op.drop_table("sharing_record")  # its triggers go with it
    op.rename_table("sharing_record_new", "sharing_record")
    op.create_index("ix_sharing_record_child", "sharing_record", ["child", "id"])
    op.create_index("ix_sharing_record_instance", "sharing_record", ["instance_id"])
    op.create_index("ix_sharing_record_decided_at", "sharing_record", ["decided_at"])
    _sqlite_triggers(sealing)


def _unsealed_index() -> None:
    where = sa.text("seq IS NULL")
    op.create_index(
        "ix_sharing_record_unsealed",
        "sharing_record",
        ["id"],
        postgresql_where=where,
        sqlite_where=where,
    )


def _pg_upgrade() -> None:
    when = storage.types.UTCDateTime(timezone=True)
    op.add_column("sharing_record", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("sharing_record", sa.Column("sealed_at", when, nullable=True))
    op.create_unique_constraint("sharing_record_seq_key", "sharing_record", ["seq"])
    for column in ("prev_hash", "hash"):
        op.alter_column("sharing_record", column, existing_type=sa.String(64), nullable=True)
    op.execute("ALTER TABLE sharing_record DISABLE TRIGGER sharing_record_append_only")
    op.execute("UPDATE sharing_record SET seq = id, sealed_at = recorded_at")
    op.execute("ALTER TABLE sharing_record ENABLE TRIGGER sharing_record_append_only")
    op.execute("CREATE SEQUENCE sharing_record_id_seq OWNED BY sharing_record.id")
    op.execute(
        "ALTER TABLE sharing_record ALTER COLUMN id SET DEFAULT nextval('sharing_record_id_seq')"
    )
    op.execute(
        "SELECT setval('sharing_record_id_seq', "
        "COALESCE((SELECT MAX(id) FROM sharing_record), 0) + 1, false)"
    )
    op.execute(_pg_function(sealing=True))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_rebuild(sealing=True)
    _unsealed_index()
    # The head of what is chained already (0 and the genesis hash for an empty register).
    op.execute(
        "INSERT INTO audit_seal (id, seq, hash, sealed_at) "
        "SELECT 2, COALESCE(MAX(id), 0), "
        "COALESCE((SELECT hash FROM sharing_record WHERE id = (SELECT MAX(id) FROM "
        f"sharing_record)), '{GENESIS}'), NULL FROM sharing_record"
    )


def downgrade() -> None:
    """Back to the locked chain, walked by ``id``: only when every entry is sealed and each
    one's ``seq`` is its ``id`` (seal first; entries sealed out of ``id`` order cannot go back)."""
    bind = op.get_bind()
    out_of_place = bind.execute(
        sa.text("SELECT COUNT(*) FROM sharing_record WHERE seq IS NULL OR seq <> id")
    ).scalar()
    if out_of_place:
        raise RuntimeError(
            f"{out_of_place} register entries are unsealed or chained out of id order: "
            "run `safeguard audit seal`; entries chained out of id order cannot be downgraded"
        )
    op.execute("DELETE FROM audit_seal WHERE id = 2")
    op.drop_index("ix_sharing_record_unsealed", table_name="sharing_record")
    if bind.dialect.name != "postgresql":
        _sqlite_rebuild(sealing=False)
        return
    op.execute(_pg_function(sealing=False))
    op.execute("ALTER TABLE sharing_record ALTER COLUMN id DROP DEFAULT")
    op.execute("DROP SEQUENCE sharing_record_id_seq")
    for column in ("prev_hash", "hash"):
        op.alter_column("sharing_record", column, existing_type=sa.String(64), nullable=False)
    op.drop_constraint("sharing_record_seq_key", "sharing_record", type_="unique")
    op.drop_column("sharing_record", "sealed_at")
    op.drop_column("sharing_record", "seq")
