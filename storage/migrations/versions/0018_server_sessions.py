"""server-side sessions, the sign-in throttle by address and name, tokens' last use

Revision ID: 0018
Revises: 0016

``user_session``: one row per signed-in browser (the cookie carries a random id, the row its
SHA-256), ended by logout, "sign out everywhere", or a change to the account. ``login_throttle``:
failed sign-ins counted per client address and per address and name, instead of per account
(``app_user.failed_logins``, ``last_failed_at`` and ``locked_until`` are no longer read: anyone
could lock anyone's account with them). ``api_token.last_used_at``: for the idle limit.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = storage.types.UTCDateTime(timezone=True)
    op.create_table(
        "user_session",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("last_seen_at", when, nullable=False),
        sa.Column("expires_at", when, nullable=False),
        sa.Column("ip", sa.String(45), nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.Column("ended_at", when, nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", when, nullable=False),
        sa.Column("locked_until", when, nullable=True),
    )
    op.create_index("ix_login_throttle_last_failed_at", "login_throttle", ["last_failed_at"])
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("last_used_at", when, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("last_used_at")
    op.drop_index("ix_login_throttle_last_failed_at", "login_throttle")
    op.drop_table("login_throttle")
    op.drop_index("ix_user_session_user_id", "user_session")
    op.drop_table("user_session")
