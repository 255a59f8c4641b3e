"""people as identity providers know them (single sign-on)

Revision ID: 0021
Revises: 0020

``external_identity``: one row per person and identity provider, keyed by the provider's name
and the ID token's ``sub``, which the provider never renames or reuses (docs/identity.md).
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = storage.types.UTCDateTime(timezone=True)
    op.create_table(
        "external_identity",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("last_sign_in_at", when, nullable=True),
        sa.UniqueConstraint("provider", "subject", name="uq_external_identity"),
    )
    op.create_index("ix_external_identity_user_id", "external_identity", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_external_identity_user_id", "external_identity")
    op.drop_table("external_identity")
