"""out-of-office periods: a person away, the dates, and the colleague who covers them

Revision ID: 0023
Revises: 0022

``away_period``: one row per period a person marked themselves away, with the colleague their
new steps go to meanwhile (``tasks/away.py``); kept after it ends, and cancelled rather than
deleted when called off, so the record of who covered when stays.
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = storage.types.UTCDateTime(timezone=True)
    op.create_table(
        "away_period",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("cover_id", sa.String(36), sa.ForeignKey("app_user.id"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", when, nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("cancelled_at", when, nullable=True),
    )
    op.create_index("ix_away_period_user", "away_period", ["user_id", "ends_on"])


def downgrade() -> None:
    op.drop_index("ix_away_period_user", "away_period")
    op.drop_table("away_period")
