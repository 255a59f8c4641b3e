"""Core statements compiled once per dialect and run straight on the DBAPI cursor.

Every step of every instance runs the same few writes (save the state, complete the task, insert
the tasks that opened). Through ``Connection.execute`` each costs 15–30 µs of SQLAlchemy work
(execution context, result set-up, events) on top of what the database does — measured, that
was most of what the engine layer added to SpiffWorkflow on SQLite. Here SQLAlchemy still builds
the SQL, fills the fixed bind values and converts the typed ones (JSON, UTC datetimes) with the
types' own bind processors; only the per-call machinery is skipped. Errors come back as the
same ``sqlalchemy.exc`` classes as through SQLAlchemy, so callers handle them the same way.

Only for statements with plain bind parameters: not for expanding ``IN`` lists, and not for
reading rows (results are not converted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase


@dataclass(frozen=True)
class _Compiled:
    sql: str
    fixed: dict[str, Any]  # the statement's own literal values ("open", version + 1)
    given: tuple[str, ...]  # the bind parameters the caller supplies
    processors: dict[str, Callable[[Any], Any]]
    positional: tuple[str, ...] | None  # bind names in order, for "?"-style drivers

    def parameters(self, values: Mapping[str, Any]):
        params = dict(self.fixed)
        for name in self.given:
            try:
                params[name] = values[name]
            except KeyError:
                raise KeyError(f"no value for the bind parameter {name!r}") from None
        for name, process in self.processors.items():
            params[name] = process(params[name])
        if self.positional is not None:
            return tuple(params[name] for name in self.positional)
        return params


class Prepared:
    """One DML statement; :meth:`run` executes it and returns the number of rows it changed."""

    def __init__(self, statement: UpdateBase):
        self.statement = statement
        self._compiled: dict[tuple[str, str, tuple[str, ...] | None], _Compiled] = {}

    def _compile(self, dialect: Dialect, keys: tuple[str, ...] | None) -> _Compiled:
        found = self._compiled.get((dialect.name, dialect.driver, keys))
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=keys)
            if compiled.escaped_bind_names:  # names the driver would see differently
                raise ValueError(f"bind names need escaping: {compiled.escaped_bind_names}")
            binds = compiled.binds
            processors = {}
            for name, bind in binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            found = _Compiled(
                sql=compiled.string,
                fixed={name: b.effective_value for name, b in binds.items() if not b.required},
                given=tuple(name for name, b in binds.items() if b.required),
                processors=processors,
                positional=tuple(compiled.positiontup) if compiled.positional else None,
            )
            self._compiled[(dialect.name, dialect.driver, keys)] = found
        return found

    def run(
        self, connection: Connection, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
    ) -> int:
        """Execute with one set of values, or with many (``executemany``) given a list."""
        cursor = connection.connection.cursor()
        try:
            self._send(connection, cursor, values)
            return cursor.rowcount
        except connection.dialect.loaded_dbapi.Error as err:
            raise _wrapped(connection, self.statement, values, err) from err
        finally:
            cursor.close()

    def _send(self, connection: Connection, cursor, values) -> None:
        many = not isinstance(values, Mapping)
        first = values[0] if many else values
        keys = tuple(first) if self.statement.is_insert else None
        compiled = self._compile(connection.dialect, keys)
        if many:
            cursor.executemany(compiled.sql, [compiled.parameters(v) for v in values])
        else:
            cursor.execute(compiled.sql, compiled.parameters(values))


Write = tuple[Prepared, Mapping[str, Any] | Sequence[Mapping[str, Any]]]


def run_all(connection: Connection, writes: Sequence[Write]) -> list[int]:
    """Run ``writes`` in order; the rows each changed.

    On PostgreSQL they go to the server in one round trip (psycopg's pipeline mode) instead of
    one each; elsewhere they simply run one by one.
    """
    if connection.dialect.driver != "psycopg":
        return [prepared.run(connection, values) for prepared, values in writes]
    return _pipelined(connection, writes, guarded=False)


def run_guarded(connection: Connection, writes: Sequence[Write]) -> list[int] | None:
    """:func:`run_all`, all or nothing: the rest count only if the first changed one row.

    ``None`` when the first changed nothing (a versioned save on a stale copy): then nothing
    was written. In a pipeline a savepoint taken first undoes the rest in that rare case.
    """
    if connection.dialect.driver != "psycopg":
        counts = [writes[0][0].run(connection, writes[0][1])]
        if counts[0] != 1:
            return None
        return counts + [prepared.run(connection, values) for prepared, values in writes[1:]]
    return _pipelined(connection, writes, guarded=True)


def _pipelined(connection: Connection, writes: Sequence[Write], guarded: bool) -> list[int] | None:
    raw = connection.connection.driver_connection
    cursors = []
    try:
        with raw.pipeline():
            if guarded:
                raw.execute("SAVEPOINT engine_step")
            for prepared, values in writes:
                cursor = raw.cursor()
                cursors.append(cursor)
                prepared._send(connection, cursor, values)
        counts = [cursor.rowcount for cursor in cursors]
        if guarded and counts[0] != 1:
            raw.execute("ROLLBACK TO SAVEPOINT engine_step")
            return None
        return counts
    except connection.dialect.loaded_dbapi.Error as err:
        if guarded and cursors and cursors[0].rowcount == 0:
            # The first matched nothing, so a later write failed for want of it (the stale copy
            # opening a task the newer state already opened): stale, not an error.
            raw.execute("ROLLBACK TO SAVEPOINT engine_step")
            return None
        raise _wrapped(connection, writes[0][0].statement, None, err) from err
    finally:
        for cursor in cursors:
            cursor.close()


def _wrapped(connection: Connection, statement, values, err: Exception) -> DBAPIError:
    """The DBAPI error as the ``sqlalchemy.exc`` class SQLAlchemy itself would raise."""
    dbapi = connection.dialect.loaded_dbapi
    return DBAPIError.instance(str(statement), values, err, dbapi.Error)
