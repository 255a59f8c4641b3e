"""the registry of agencies, seeded; one-time password reset links

Revision ID: 0022
Revises: 0021

``agency``: the agencies a user may belong to, seeded with the vocabulary the diagrams and the
sharing register use and the partnership's own unit (storage/administration.py, ``SEED``).
``password_reset``: links an administrator issued; only the token's SHA-256 is kept.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Written out, not imported: a migration is history and must not change with the code.
SEED = (
    ("childrens_social_care", "Children's social care"),
    ("early_help", "Early help"),
    ("health", "Health"),
    ("other", "Other"),
    ("partnership", "The safeguarding partnership"),
    ("police", "Police"),
    ("school", "School"),
    ("voluntary", "Voluntary sector"),
)


def upgrade() -> None:
    when = storage.types.UTCDateTime(timezone=True)
    agency = op.create_table(
        "agency",
        sa.Column("code", sa.String(80), primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.bulk_insert(agency, [{"code": c, "label": label, "active": True} for c, label in SEED])
    op.create_table(
        "password_reset",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("expires_at", when, nullable=False),
        sa.Column("created_by", sa.String(80), nullable=True),
        sa.Column("used_at", when, nullable=True),
    )
    op.create_index("ix_password_reset_user_id", "password_reset", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_password_reset_user_id", "password_reset")
    op.drop_table("password_reset")
    op.drop_table("agency")
