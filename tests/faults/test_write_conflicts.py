"""A write that loses to a concurrent one is a conflict the caller can retry (409), not a 500.

Real losers, no mocks: SQLite's "database is locked" from a second writer, PostgreSQL's
deadlock detector and its lock timeout, each raised by the database itself.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from service.app import create_app
from storage import make_engine
from storage.database import is_write_conflict
from tests.support.helpers import admin_client, deploy_xml, make_user, token_client


def test_sqlite_busy_writer_is_a_write_conflict(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    holder, loser = make_engine(url), make_engine(url)
    # The loser does not wait for the lock (the service waits busy_timeout, 30 s, first).
    event.listen(loser, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=0"))
    try:
        with holder.connect() as c:
            c.execute(text("CREATE TABLE t (n INTEGER)"))
            c.commit()
            c.execute(text("INSERT INTO t VALUES (1)"))  # holds the write lock
            with loser.connect() as other, pytest.raises(OperationalError) as caught:
                other.execute(text("INSERT INTO t VALUES (2)"))
        assert is_write_conflict(caught.value)
    finally:
        holder.dispose()
        loser.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_deadlock_is_a_write_conflict(db_url):
    pg_url = db_url
    engine = make_engine(pg_url)
    try:
        with engine.begin() as c:
            c.execute(text("DROP TABLE IF EXISTS deadlock_probe"))
            c.execute(text("CREATE TABLE deadlock_probe (id INT PRIMARY KEY, n INT)"))
            c.execute(text("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)"))
        both_hold_one = threading.Barrier(2, timeout=10)
        errors: list[Exception] = []

        def cross(first: int, second: int) -> None:
            with engine.connect() as c:
                try:
                    c.execute(
                        text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :i"), {"i": first}
                    )
                    both_hold_one.wait()
                    c.execute(
                        text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :i"), {"i": second}
                    )
                    c.commit()
                except OperationalError as err:
                    errors.append(err)
                    c.rollback()

        threads = [threading.Thread(target=cross, args=pair) for pair in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(errors) == 1  # PostgreSQL picked one loser and let the other through
        assert errors[0].orig.sqlstate == "40P01"
        assert is_write_conflict(errors[0])
    finally:
        with engine.begin() as c:
            c.execute(text("DROP TABLE IF EXISTS deadlock_probe"))
        engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_request_that_cannot_get_its_lock_answers_409_with_retry_after(db_url):
    """A claim blocked by another transaction's row lock past ``lock_timeout`` (set through the
    URL, as an operator may) is refused with 409 and Retry-After, and changes nothing."""
    pg_url = db_url
    url = pg_url + "?options=-c%20lock_timeout%3D200"
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    holder = make_engine(pg_url)
    try:
        make_user(app, "pat", ["practitioner"], agency="school")
        admin = admin_client(app)
        assert deploy_xml(admin).status_code == 201
        pat = token_client(app, "pat")
        started = pat.post(
            "/api/process-instances", json={"process_key": "three_steps", "business_key": "c-1"}
        ).get_json()
        [task] = started["active_tasks"]
        with holder.connect() as c:
            c.execute(text("SELECT id FROM task WHERE id = :i FOR UPDATE"), {"i": task["id"]})
            response = pat.post(f"/api/tasks/{task['id']}/claim")
            c.rollback()
        assert response.status_code == 409, response.get_json()
        assert response.get_json()["error"]["code"] == "conflict"
        assert response.headers["Retry-After"] == "1"
        again = pat.get(f"/api/tasks/{task['id']}").get_json()
        assert again["assignee"] is None and again["version"] == task["version"]
    finally:
        holder.dispose()
        app.extensions["safeguard"].db.dispose()
