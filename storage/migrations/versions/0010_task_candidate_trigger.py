"""task candidates written by the database from task.candidate_roles

The worklist's "tasks I can claim" view probes ``task_candidate``, one row per role that may
claim a task. The engine used to insert those rows itself, a second statement after every task
insert: on PostgreSQL one more network round trip per step that opens a task, on SQLite one more
statement through SQLAlchemy. A trigger now derives them from the task row's
``candidate_roles`` (a JSON array of role names) in the same statement, so they can never
disagree with it. Duplicate role names are kept once.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION task_candidates_from_roles() RETURNS trigger AS $$
BEGIN
    IF json_typeof(NEW.candidate_roles) = 'array' THEN
        INSERT INTO task_candidate (task_id, role)
        SELECT DISTINCT NEW.id, role FROM json_array_elements_text(NEW.candidate_roles) AS role
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGER = """
CREATE TRIGGER task_candidates_from_roles
AFTER INSERT ON task
FOR EACH ROW EXECUTE FUNCTION task_candidates_from_roles()
"""
SQLITE_TRIGGER = """
CREATE TRIGGER task_candidates_from_roles
AFTER INSERT ON task
WHEN json_valid(NEW.candidate_roles) AND json_type(NEW.candidate_roles) = 'array'
BEGIN
    INSERT OR IGNORE INTO task_candidate (task_id, role)
    SELECT NEW.id, value FROM json_each(NEW.candidate_roles) WHERE type = 'text';
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS task_candidates_from_roles" + _on_task())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS task_candidates_from_roles()")


def _on_task() -> str:
    return " ON task" if op.get_bind().dialect.name == "postgresql" else ""
