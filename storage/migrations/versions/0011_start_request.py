"""start requests: a retried start returns the instance the first one started

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "start_request",
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("request_key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("instance_id", sa.String(36), sa.ForeignKey("process_instance.id")),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_start_request_created_at", "start_request", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_start_request_created_at", table_name="start_request")
    op.drop_table("start_request")
