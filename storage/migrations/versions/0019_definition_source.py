"""process definitions: where each version came from, the file content, the change note

Revision ID: 0019
Revises: 0016

``safeguard deploy`` (and so ``make run``) used to deploy a file again whenever the latest
version differed from it, silently undoing an edit made in the modeller. The rule now needs to
know which versions came from a file and which file content they came from (``source``,
``file_hash``); the modeller asks for a change ``note`` that the version history shows.

Rows before this revision: those without ``deployed_by`` can only have come from the command
line (the API always names who deploys), so they are marked ``file`` with the file content
equal to the version's. The others are left unknown (``source`` NULL), which the rule treats
like a browser deploy: a changed file never replaces them without ``--force``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_definition") as table:
        table.add_column(sa.Column("source", sa.String(10), nullable=True))
        table.add_column(sa.Column("file_hash", sa.String(64), nullable=True))
        table.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.execute(
        "UPDATE process_definition SET source = 'file', file_hash = content_hash "
        "WHERE deployed_by IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("process_definition") as table:
        table.drop_column("note")
        table.drop_column("file_hash")
        table.drop_column("source")
