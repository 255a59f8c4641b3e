"""Creating and migrating the schema with Alembic, from code (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from storage.database import database_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    _refresh_sqlite_statistics(database_url(url))


def _refresh_sqlite_statistics(url: str) -> None:
    """``ANALYZE`` a SQLite database (each ``safeguard db upgrade``, so each ``make run``).

    SQLite has no autovacuum to keep planner statistics: without them it takes ``assignee IS
    NULL`` or ``status = 'open'`` for selective and sorts every open task for the candidate
    worklist instead of walking ``ix_task_open_due`` (docs/performance.md). PostgreSQL's
    autovacuum analyzes on its own.
    """
    if not url.startswith("sqlite"):
        return
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            # Statistics of empty tables would mislead the planner later: wait for work.
            if connection.exec_driver_sql("SELECT 1 FROM task LIMIT 1").first():
                connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def revision(message: str, url: str | None = None) -> None:
    """Autogenerate a migration from the models (developers only)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
