"""SQLite's log is copied into the database file by a background thread, never by a commit."""

from __future__ import annotations

import multiprocessing
import os
import threading

from sqlalchemy import text

from storage import make_engine
from tests.support.waiting import wait_for


def _checkpointers(path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"sqlite-checkpoint {path}"]


def test_commits_leave_checkpoints_to_the_background_thread(tmp_path):
    path = tmp_path / "wal.db"
    db = make_engine(f"sqlite:///{path}")
    try:
        with db.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        assert len(_checkpointers(path)) == 1
        before = os.path.getsize(path)
        for n in range(50):  # about 2 MB of log, twice what SQLite would let a commit copy
            with db.begin() as connection:
                connection.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"{n}" * 40_000})
        # everything committed is in the database file once the thread has been round
        assert wait_for(lambda: os.path.getsize(path) > before + 1_900_000, seconds=10)
        with db.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 50
    finally:
        db.dispose()
    assert wait_for(lambda: not _checkpointers(path), seconds=3)
    with db.connect() as connection:  # used again after dispose: checkpoints again
        connection.execute(text("SELECT 1"))
    assert len(_checkpointers(path)) == 1
    db.dispose()


def _forked_worker(db, path, result) -> None:
    """What a gunicorn worker does after the fork: drop the master's pool, then work."""
    db.dispose(close=False)
    with db.begin() as connection:
        connection.execute(text("INSERT INTO t (v) VALUES ('from the worker')"))
    result.value = len(_checkpointers(path))


def test_a_forked_worker_runs_its_own_checkpoints(tmp_path):
    path = tmp_path / "forked.db"
    db = make_engine(f"sqlite:///{path}")
    try:
        with db.begin() as connection:
            connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        fork = multiprocessing.get_context("fork")
        result = fork.Value("i", -1)
        worker = fork.Process(target=_forked_worker, args=(db, path, result))
        worker.start()
        worker.join(30)
        assert worker.exitcode == 0
        assert result.value == 1  # threads do not survive a fork: the worker started one
    finally:
        db.dispose()


def test_an_in_memory_database_has_no_checkpointer():
    db = make_engine("sqlite:///:memory:")
    try:
        with db.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
        assert not _checkpointers(":memory:")
    finally:
        db.dispose()
