"""audit trail without a lock: events inserted unsealed, chained later by one sealer

Revision ID: 0016
Revises: 0015

Appending no longer reads the chain's last row under a lock: an event is a plain INSERT with
an ``id`` from the database, and ``seq``, ``prev_hash``, ``hash`` stay null until the sealer
(``service/records/sealing.py``) chains it and sets ``sealed_at``. ``audit_seal`` holds the
chain's head (the sealer's lease row). ``seq`` can no longer be the primary key (it is null
until sealing), so the table is rebuilt with ``id`` = ``seq`` for every existing row: those
rows are sealed already and keep every hashed column, so their digests still hold.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

COLUMNS = (
    "at, actor, action, outcome, case_key, instance_id, task_id, detail, remote_addr, "
    "prev_hash, hash, purged_at, tombstone"
)


def _table(name: str, new: bool) -> None:
    when = storage.types.UTCDateTime(timezone=True)
    first = (
        [
            sa.Column(
                "id",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                primary_key=True,
                autoincrement=True,
            ),
            sa.Column("seq", sa.Integer(), nullable=True, unique=True),
        ]
        if new
        else [sa.Column("seq", sa.Integer(), autoincrement=False, primary_key=True)]
    )
    op.create_table(
        name,
        *first,
        sa.Column("at", when, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("case_key", sa.String(length=200), nullable=True),
        sa.Column("instance_id", sa.String(length=36), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=new),
        sa.Column("hash", sa.String(length=64), nullable=new, unique=True),
        *([sa.Column("sealed_at", when, nullable=True)] if new else []),
        sa.Column("purged_at", when, nullable=True),
        sa.Column("tombstone", sa.String(length=64), nullable=True),
    )


def _indexes(order: str, unsealed: bool) -> None:
    for name, column in (("instance", "instance_id"), ("case", "case_key"), ("actor", "actor")):
        op.create_index(f"ix_audit_event_{name}", "audit_event", [column, order])
    if unsealed:
        where = sa.text("seq IS NULL")
        op.create_index(
            "ix_audit_event_unsealed",
            "audit_event",
            ["id"],
            postgresql_where=where,
            sqlite_where=where,
        )


def upgrade() -> None:
    _table("audit_event_new", new=True)
    op.execute(
        f"INSERT INTO audit_event_new (id, seq, {COLUMNS}, sealed_at) "
        f"SELECT seq, seq, {COLUMNS}, at FROM audit_event"
    )
    op.drop_table("audit_event")
    op.rename_table("audit_event_new", "audit_event")
    _indexes("id", unsealed=True)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_event', 'id'), "
            "COALESCE((SELECT MAX(id) FROM audit_event), 0) + 1, false)"
        )
    op.create_table(
        "audit_seal",
        sa.Column("id", sa.Integer(), autoincrement=False, primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    # The head of what is chained already (0 and the genesis hash for an empty trail).
    op.execute(
        "INSERT INTO audit_seal (id, seq, hash, sealed_at) "
        "SELECT 1, COALESCE(MAX(seq), 0), "
        "COALESCE((SELECT hash FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)), "
        f"'{'0' * 64}'), NULL FROM audit_event"
    )


def downgrade() -> None:
    """Back to the locked chain: events never sealed are sealed by no one and are dropped."""
    op.drop_table("audit_seal")
    _table("audit_event_old", new=False)
    op.execute(
        f"INSERT INTO audit_event_old (seq, {COLUMNS}) "
        f"SELECT seq, {COLUMNS} FROM audit_event WHERE seq IS NOT NULL"
    )
    op.drop_table("audit_event")
    op.rename_table("audit_event_old", "audit_event")
    _indexes("seq", unsealed=False)
