"""sign-in: login throttling, API tokens, case parties, candidate roles on tasks

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("last_failed_at", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("locked_until", storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("candidate_roles", sa.JSON(), nullable=True))
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])
    op.create_table(
        "case_party",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_key", sa.String(length=200), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("why", sa.String(length=40), nullable=False),
        sa.Column("since", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", "case_key", name="uq_case_party_user_case"),
    )
    op.create_index("ix_case_party_case", "case_party", ["case_key"])
    op.create_table(
        "task_candidate",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.PrimaryKeyConstraint("task_id", "role"),
    )
    op.create_index("ix_task_candidate_role", "task_candidate", ["role", "task_id"])


def downgrade() -> None:
    op.drop_index("ix_task_candidate_role", table_name="task_candidate")
    op.drop_table("task_candidate")
    op.drop_index("ix_case_party_case", table_name="case_party")
    op.drop_table("case_party")
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_table("api_token")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("candidate_roles")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("last_failed_at")
        batch.drop_column("failed_logins")
