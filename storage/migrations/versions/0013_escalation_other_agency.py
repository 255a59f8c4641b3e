"""both agencies resolve a disagreement: task.other_agency, escalation.details

A user task may name a second agency whose agency-scoped roles may take it besides the agency
the instance was started in (``other_agency_from``, bounded in workflows/grants.py); the service
stores that agency on the task row when the task opens. An inbox item may carry a few facts of
its own (``details``: the stage, the agencies and the written escalation notice the board is
copied on), so a board member reads the notice without reading the child's case.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("other_agency", sa.String(40), nullable=True))
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("escalation") as batch:
        batch.drop_column("details")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("other_agency")
