"""advice without identity: task.identity_withheld

A user task whose diagram says ``withhold_identity_when`` and whose condition held when it
opened is marked here. Need-to-know (tasks/parties.py) skips such a task: holding, claiming or
completing it makes nobody a party to the case, and its views show no child's key.

Added in place (no batch copy): on SQLite a copy of ``task`` would drop the trigger of
migration 0010 that writes ``task_candidate`` rows.

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
    op.add_column(
        "task",
        sa.Column("identity_withheld", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # Plain ALTER (SQLite 3.35+): a batch copy would drop migration 0010's trigger.
    op.execute("ALTER TABLE task DROP COLUMN identity_withheld")
