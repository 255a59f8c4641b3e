"""The audit trail without a lock (issue 16): appending is a plain INSERT, reads are queued and
flushed in batches, one sealer chains the events, and the chain is checked against heads
published outside the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from records import audit
from records.audit import Intent
from records.sealing import check, seal
from service import trail
from service.app import create_app
from service.cli import main
from service.context import services
from storage.models import AuditEvent
from tests.support.helpers import make_user, token_client

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pat(app):
    make_user(app, "pat", ["practitioner"], agency="school")
    return token_client(app, "pat")


def _count(app, **where) -> int:
    with app.app_context(), services().session_factory() as session:
        query = select(func.count()).select_from(AuditEvent)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return session.scalar(query)


def _seal(app, **options):
    with app.app_context():
        return seal(services().session_factory, services().clock.now(), **options)


def _check(app, heads_file=None, later: float = 0, bound: float = 300) -> dict:
    with app.app_context(), services().session_factory() as session:
        now = services().clock.now() + timedelta(seconds=later)
        return check(session, now, bound, heads_file)


def _chained(app) -> list[tuple[int, int]]:
    with app.app_context(), services().session_factory() as session:
        return list(session.execute(select(AuditEvent.id, AuditEvent.seq).order_by(AuditEvent.id)))


def test_two_transactions_append_before_either_commits(app, db_url):
    """No lock and no read of the chain: neither waits for the other (PostgreSQL gives up
    after the lock timeout if one did)."""
    with app.app_context():
        factory, now = services().session_factory, services().clock.now()
    first, second = factory(), factory()
    try:
        if db_url.startswith("postgresql"):
            for session in (first, second):
                session.execute(text("SET LOCAL lock_timeout = '1s'"))
        audit.append(first, Intent(action="one", actor="a", remote_addr=None), now)
        first.flush()
        if db_url.startswith("sqlite"):
            first.commit()  # one writer at a time: the point is that nothing is read first
        audit.append(second, Intent(action="two", actor="b", remote_addr=None), now)
        second.flush()
        if db_url.startswith("postgresql"):
            locks = second.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
            assert locks == 0
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    assert _count(app, action="one") == _count(app, action="two") == 1
    assert _count(app, seq=None) == 0 or _seal(app).events == 2
    assert _check(app)["ok"] is True


def test_a_read_writes_no_row_until_the_queue_is_flushed(app, pat):
    before = _count(app)
    assert pat.get("/api/tasks").status_code == 200
    assert _count(app) == before  # the read took no transaction of its own
    assert trail.flush(app) == 1
    assert _count(app, action="tasks.list_tasks", actor="pat") == 1


def test_queued_reads_ride_along_with_the_next_write(app, pat, client):
    pat.get("/api/tasks")
    pat.get("/api/tasks")
    assert _count(app, action="tasks.list_tasks") == 0
    make_user(app, "dee", ["auditor"], agency="partnership")
    token_client(app, "dee")  # a write of the test, not of the app: nothing flushed
    assert client.post("/api/process-definitions", data=b"<nope/>").status_code in (400, 415, 422)
    client.post(
        "/api/auth/token", json={"username": "nobody", "password": "not-the-password"}
    )  # sign-in attempts are changes: written with their own transaction
    assert _count(app, action="tasks.list_tasks") == 2


def test_the_sealer_chains_in_order_across_batches_and_resumes_after_a_restart(app, pat, db_url):
    for _ in range(7):
        pat.get("/api/tasks")
    trail.flush(app)
    first = _seal(app, batch=3, max_batches=2)
    assert (first.events, first.batches, first.head_seq) == (6, 2, 6)
    assert _check(app)["unsealed"] == 1
    restarted = create_app({"DATABASE_URL": db_url, "TESTING": True})
    try:
        pat.get("/api/tasks")
        trail.flush(app)
        again = _seal(restarted, batch=3)
        assert (again.events, again.head_seq) == (2, 8)
    finally:
        restarted.extensions["safeguard"].db.dispose()
    rows = _chained(app)
    assert [seq for _, seq in rows] == list(range(1, len(rows) + 1))  # oldest first, no gap
    report = _check(app)
    assert report == {"ok": True, "checked": 8, "unsealed": 0, "heads_file": False}


def test_an_event_unsealed_past_the_bound_fails_the_check(app, pat, client):
    pat.get("/api/tasks")
    pat.get("/api/tasks")
    trail.flush(app)
    assert _check(app, later=299)["ok"] is True
    late = _check(app, later=301)
    assert late["ok"] is False and late["unsealed"] == 2
    assert late["late"]["count"] == 2 and late["late"]["oldest_at"]
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "AUDIT_SEAL_BOUND_SECONDS": "0"}
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 1 and "2 events unsealed for longer than 0 s" in result.output
    assert CliRunner().invoke(main, ["audit", "seal"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 0 and "intact" in result.output, result.output


def _rewrite(app, seq: int) -> None:
    """Someone with write access to the database alone: edit an event and recompute every
    hash after it, and the seal row, consistently."""
    with app.app_context(), services().session_factory() as session, session.begin():
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq)
        ).all()
        previous = rows[0].prev_hash
        rows[0].actor = "mallory"
        for row in rows:
            row.prev_hash = previous
            row.hash = previous = audit.digest(row)
        session.execute(text("UPDATE audit_seal SET hash = :h"), {"h": previous})


def test_a_consistent_rewrite_of_the_database_is_caught_by_the_published_heads(app, pat, tmp_path):
    heads = tmp_path / "audit-heads.jsonl"
    for _ in range(5):
        pat.get("/api/tasks")
    trail.flush(app)
    assert _seal(app, batch=2, heads_file=str(heads)).batches == 3
    lines = [json.loads(line) for line in heads.read_text().splitlines()]
    assert [h["seq"] for h in lines] == [2, 4, 5] and all(len(h["hash"]) == 64 for h in lines)
    assert _check(app, heads_file=str(heads))["ok"] is True

    _rewrite(app, 2)
    assert _check(app)["ok"] is True  # the database alone looks whole
    caught = _check(app, heads_file=str(heads))
    assert caught["ok"] is False
    assert caught["broken_at"] == {
        "seq": 2,
        "reason": "differs from the head published outside the database",
    }


def test_removing_the_newest_events_is_caught(app, pat, tmp_path):
    heads = tmp_path / "audit-heads.jsonl"
    for _ in range(3):
        pat.get("/api/tasks")
    trail.flush(app)
    _seal(app, heads_file=str(heads))
    with app.app_context(), services().db.begin() as connection:
        connection.execute(text("DELETE FROM audit_event WHERE seq = 3"))
    assert _check(app)["broken_at"]["reason"] == "the chain ends at 2 but was sealed up to 3"
    with app.app_context(), services().db.begin() as connection:
        connection.execute(text("UPDATE audit_seal SET seq = 2"))
    assert _check(app, heads_file=str(heads))["broken_at"] == {
        "seq": 3,
        "reason": "a published head is missing from the database",
    }


def test_events_are_listed_at_once_sealed_or_not(app, pat):
    make_user(app, "dee", ["auditor"], agency="partnership")
    auditor = token_client(app, "dee")
    pat.get("/api/tasks")
    items = auditor.get("/api/audit").get_json()["items"]
    assert [(e["action"], e["seq"], e["hash"], e["sealed_at"]) for e in items] == [
        ("tasks.list_tasks", None, None, None)
    ]
    _seal(app)
    items = auditor.get("/api/audit").get_json()["items"]
    assert items[0]["seq"] == 1 and items[0]["sealed_at"] and items[0]["id"] == items[0]["seq"]
    assert [e["action"] for e in items] == ["tasks.list_tasks", "audit.list_events"]


CLEAN_EXIT = """
import os
from service.app import create_app
app = create_app({"DATABASE_URL": os.environ["DATABASE_URL"], "TESTING": True})
client = app.test_client()
client.environ_base["HTTP_AUTHORIZATION"] = "Bearer " + os.environ["TOKEN"]
assert client.get("/api/tasks").status_code == 200
assert len(app.extensions["safeguard"].audit_queue) == 1  # queued, not written
# no flush: the interpreter exits cleanly
"""


def test_a_clean_shutdown_loses_no_queued_read(app, db_url):
    make_user(app, "pat", ["practitioner"], agency="school")
    token = token_client(app, "pat").environ_base["HTTP_AUTHORIZATION"].split()[1]
    env = {**os.environ, "DATABASE_URL": db_url, "TOKEN": token, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CLEAN_EXIT], env=env, cwd=ROOT, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert _count(app, action="tasks.list_tasks", actor="pat") == 1
