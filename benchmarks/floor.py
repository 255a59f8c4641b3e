"""The least a durable step can cost on a database server, measured without the engine.

The engine saves each step of an instance in its own transaction, as a client needs: a step is
acknowledged only once it is durable. On PostgreSQL that takes, at the very least, one round
trip carrying the step's writes (the engine sends them together in psycopg's pipeline mode) and
one more for the ``COMMIT``, which waits for the WAL flush. This module times exactly that with
psycopg alone, on a table shaped like the engine's (a versioned ~4 KB state, a task row
updated, one inserted), so the figure is a floor no engine code can go below.

``benchmarks/engine.py`` prints it beside SpiffWorkflow's own work per instance (nothing
saved): together they bound what the persisted path can reach on this machine.
"""

from __future__ import annotations

import time

import sqlalchemy
from sqlalchemy import text

PROBES = 500
STATE = "x" * 4200  # about the size of a saved three_steps state


def durable_step_ms(db: sqlalchemy.Engine) -> float:
    """Milliseconds per step: pipelined savepoint + versioned save + task update + insert, then
    COMMIT. PostgreSQL only (psycopg)."""
    with db.begin() as connection:
        connection.execute(
            text("CREATE TABLE floor_state (id TEXT PRIMARY KEY, version INT, state TEXT)")
        )
        connection.execute(text("CREATE TABLE floor_task (id TEXT PRIMARY KEY, status TEXT)"))
        connection.execute(text("INSERT INTO floor_state VALUES ('i', 0, '')"))
        connection.execute(text("INSERT INTO floor_task VALUES ('t0', 'open')"))
    raw = db.raw_connection()
    try:
        pg = raw.driver_connection
        started = time.perf_counter()
        for version in range(PROBES):
            with pg.pipeline():
                pg.execute("SAVEPOINT step")
                saved = pg.execute(
                    "UPDATE floor_state SET state = %s, version = version + 1 "
                    "WHERE id = 'i' AND version = %s",
                    (STATE, version),
                )
                pg.execute(
                    "UPDATE floor_task SET status = 'completed' WHERE id = %s",
                    (f"t{version}",),
                )
                pg.execute("INSERT INTO floor_task VALUES (%s, 'open')", (f"t{version + 1}",))
            assert saved.rowcount == 1
            pg.commit()
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
        with db.begin() as connection:
            connection.execute(text("DROP TABLE floor_state"))
            connection.execute(text("DROP TABLE floor_task"))
    return elapsed / PROBES * 1000
