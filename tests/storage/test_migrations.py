"""The schema that ``safeguard db upgrade`` builds is the schema the code expects."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.migrate import upgrade
from storage.models import Base


def test_upgrade_builds_exactly_the_models(db_engine, db_url):
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_is_repeatable_and_keeps_data(db_url, db_engine):
    with db_engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO app_user (id, username, display_name, roles, active, created_at) "
            "VALUES ('u1', 'kept', 'Kept', '[]', true, '2026-01-01 00:00:00')"
        )
    upgrade(db_url)
    with db_engine.connect() as connection:
        names = [r[0] for r in connection.exec_driver_sql("SELECT username FROM app_user")]
    assert names == ["kept"]
    assert {"process_definition", "process_instance", "task", "app_user"} <= set(
        inspect(db_engine).get_table_names()
    )
