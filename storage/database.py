"""Database engines: SQLite (WAL) by default, PostgreSQL when ``DATABASE_URL`` says so."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.checkpoint import checkpoint_in_background

DEFAULT_DATABASE_URL = "sqlite:///var/safeguard.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: an explicit one, else ``DATABASE_URL``, else SQLite under ``./var/``."""
    return url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers run while one writer commits; NORMAL sync is durable in WAL mode against
    # process crashes (an OS crash may lose the last commits, never corrupt the file).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # Checkpoints run on a background thread (storage/checkpoint.py), not inside a commit.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()
    # pysqlite's own transaction handling defers BEGIN in ways that break optimistic locking;
    # take control as SQLAlchemy's documentation recommends.
    dbapi_connection.isolation_level = None


# SQLite has one writer. A deferred transaction that reads, then writes after another
# connection committed, fails at once ("database is locked", no busy wait): under concurrent
# requests that is a spurious 500 or 409. So transactions take the write lock when they begin
# (BEGIN IMMEDIATE) and wait their turn — except where the caller declares it will only read.
READ_ONLY: ContextVar[bool] = ContextVar("sqlite_read_only", default=False)
# A write that would rather not happen now than wait for the writer (``without_waiting``).
NO_WAIT: ContextVar[bool] = ContextVar("sqlite_no_wait", default=False)
BUSY_TIMEOUT_MS = 30000


@contextmanager
def read_only(flag: bool = True) -> Iterator[None]:
    """Transactions begun inside only read (SQLite may then run them beside the writer)."""
    token = READ_ONLY.set(flag)
    try:
        yield
    finally:
        READ_ONLY.reset(token)


@contextmanager
def without_waiting() -> Iterator[None]:
    """Transactions begun inside fail at once (a write conflict) where SQLite's writer is busy,
    instead of queueing behind it: for bookkeeping that can be done later, never for case data.
    """
    token = NO_WAIT.set(True)
    try:
        yield
    finally:
        NO_WAIT.reset(token)


def _sqlite_begin(conn) -> None:
    # Straight to the driver: this runs at the start of every transaction, and a full SQLAlchemy
    # execution (result set-up, events) would cost more than the BEGIN itself. A busy database
    # still surfaces as SQLAlchemy's OperationalError, which callers treat as a write conflict.
    statement = "BEGIN" if READ_ONLY.get() else "BEGIN IMMEDIATE"
    driver = conn.connection.driver_connection
    no_wait = NO_WAIT.get() and statement != "BEGIN"
    try:
        if no_wait:
            driver.execute("PRAGMA busy_timeout=0")
        try:
            driver.execute(statement)
        finally:
            if no_wait:
                driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except sqlite3.Error as err:
        raise DBAPIError.instance(statement, (), err, sqlite3.Error) from err


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine with the settings this service relies on for the chosen database."""
    url = database_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        if path and path != ":memory:":
            checkpoint_in_background(engine, path)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


# PostgreSQL's "two transactions got in each other's way; one was rolled back": serialization
# failure, deadlock detected, lock not available. Nothing of the loser was written.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def is_write_conflict(err: Exception) -> bool:
    """A write lost to a concurrent one and was rolled back whole: a conflict (409), not a fault.

    SQLite refuses a write from a transaction that read an older snapshot ("database is locked",
    SQLITE_BUSY_SNAPSHOT, or a writer busy for longer than ``busy_timeout``) — the same situation
    as a stale version; PostgreSQL reports it with one of :data:`CONFLICT_SQLSTATES`.
    """
    orig = getattr(err, "orig", err)
    if getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES:
        return True
    return "database is locked" in str(orig)
