"""worklist indexes for scale: case-key expression, open tasks by due time, team lookup

Measured with benchmarks/worklist.py (1 000 000 task rows, 100 000 open cases): the candidate
view walks open tasks in due order and probes need-to-know per case, so it needs the case key
indexed as an expression, the open tasks indexed by (due_at, id), and on PostgreSQL a
multi-column MCV statistic so the planner knows that open tasks are often unassigned (without
it, it estimated 4 896 open unassigned tasks instead of 50 000 and sorted 12 000 rows).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_process_instance_case",
        "process_instance",
        [sa.text("coalesce(business_key, id)")],
    )
    op.create_index(
        "ix_task_open_due",
        "task",
        [sa.text("(due_at IS NULL)"), "due_at", "id"],
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_app_user_manager_id", "app_user", ["manager_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE STATISTICS IF NOT EXISTS st_task_status_assignee (mcv) "
            "ON status, assignee FROM task"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_task_status_assignee")
    op.drop_index("ix_app_user_manager_id", table_name="app_user")
    op.drop_index("ix_task_open_due", table_name="task")
    op.drop_index("ix_process_instance_case", table_name="process_instance")
