"""both agencies resolve a disagreement: task.other_agency, escalation.details

A user task may name a second agency whose agency-scoped roles may take it besides the agency
the instance was started in (``other_agency_from``, bounded in workflows/grants.py); the service
stores that agency on the task row when the task opens. An inbox item may carry a few facts of
its own (``details``: the stage, the agencies and the written escalation notice the board is
copied on), so a board member reads the notice without reading the child's case.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place, never a batch copy: copying ``task`` on SQLite would drop migration 0010's trigger.
    op.add_column("task", sa.Column("other_agency", sa.String(40), nullable=True))
    op.add_column("escalation", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("escalation", "details")
    op.drop_column("task", "other_agency")
