"""The sharing register without a lock (issue 16 point 5): a decision's entry is a plain INSERT,
the audit trail's sealer chains the entries in batches and publishes the register's heads too,
and verify catches an edit, a consistent rewrite and entries left unsealed."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select, text
from sqlalchemy.exc import DatabaseError

from records import register, register_chain
from records.sealing import REGISTER, check
from service.cli import main
from service.context import services
from storage import UnitOfWork
from storage.models import SharingRecord
from tests.service.test_sharing_register import DIAGRAM, REQUEST
from tests.support.helpers import deploy_xml, open_task_id, seal_now, start_instance

ENTRY = {"decision": "not_share", "with_consent": False, "reasons": "No legitimate purpose"}


def _record(app, count: int = 1) -> list[int]:
    """``count`` entries recorded as a correction route records them (no instance)."""
    ids = []
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        for _ in range(count):
            row = register.record(
                uow.session, ENTRY, instance_id=None, decided_by="pat", now=services().clock.now()
            )
            ids.append(row.id)
        uow.commit()
    return ids


def _check(app, heads_file=None, later: float = 0, bound: float = 300) -> dict:
    with app.app_context(), services().session_factory() as session:
        now = services().clock.now() + timedelta(seconds=later)
        return check(session, now, bound, heads_file, REGISTER)


def _rows(app) -> list[SharingRecord]:
    with app.app_context(), services().session_factory() as session:
        rows = list(session.scalars(select(SharingRecord).order_by(SharingRecord.id)))
        session.expunge_all()
        return rows


def test_a_decision_is_recorded_without_a_lock_or_a_read_of_the_register(app, client, client_for):
    deployed = deploy_xml(client, DIAGRAM.read_bytes(), filename="information_sharing.bpmn")
    assert deployed.status_code == 201
    pat = client_for("pat", ["practitioner"], agency="school")
    instance_id = start_instance(pat, "information_sharing", business_key="child-9").get_json()
    task_id = open_task_id(app, instance_id["id"], "describe_request")
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = services().db
    event.listen(engine, "before_cursor_execute", seen)
    try:
        answers = {**REQUEST, "legitimate_purpose": "no"}  # ends in a not-share decision
        response = pat.post(f"/api/tasks/{task_id}/complete", json={"data": answers})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200 and response.get_json()["state"] == "completed"
    assert not [s for s in statements if "advisory" in s.lower()]
    # Nothing reads the register's chain on the request path: no hash, no last entry.
    register_reads = [s for s in statements if "FROM sharing_record" in s]
    assert not [s for s in register_reads if "hash" in s.lower() or " DESC" in s]
    (row,) = _rows(app)
    assert (row.decision, row.seq, row.prev_hash, row.hash) == ("not_share", None, None, None)
    assert seal_now(app).entries == 1
    (row,) = _rows(app)
    assert row.seq == 1 and row.hash == register_chain.digest(row) and row.sealed_at


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: one writer anyway
def test_two_transactions_record_before_either_commits(app):
    """PostgreSQL would give up after the lock timeout if one waited for the other."""
    with app.app_context():
        factory, now = services().session_factory, services().clock.now()
    first, second = factory(), factory()
    try:
        for session in (first, second):
            session.execute(text("SET LOCAL lock_timeout = '1s'"))
            register.record(session, ENTRY, instance_id=None, decided_by="pat", now=now)
        locks = second.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
        assert locks == 0
        second.commit()  # the later one first: the ids stay as the database gave them
        first.commit()
    finally:
        first.close()
        second.close()
    assert seal_now(app).entries == 2
    assert _check(app) == {"ok": True, "checked": 2, "unsealed": 0, "heads_file": False}


def test_the_sealer_chains_entries_in_id_order_and_publishes_their_heads(app, tmp_path):
    heads = tmp_path / "heads.jsonl"
    ids = _record(app, 5)
    assert _check(app)["unsealed"] == 5
    sealed = seal_now(app, batch=2, heads_file=str(heads))
    assert (sealed.entries, sealed.register_seq) == (5, 5)
    rows = _rows(app)
    assert [(r.id, r.seq) for r in rows] == list(zip(ids, range(1, 6), strict=True))
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    lines = [json.loads(line) for line in heads.read_text().splitlines()]
    ours = [h for h in lines if h["chain"] == "register"]
    assert [(h["seq"], h["entries"]) for h in ours] == [(2, 2), (4, 2), (5, 1)]
    assert ours[-1]["hash"] == rows[-1].hash
    assert all(h["chain"] == "audit" for h in lines if h not in ours)
    assert _check(app, heads_file=str(heads)) == {
        "ok": True,
        "checked": 5,
        "unsealed": 0,
        "heads_file": True,
    }
    _record(app)  # chained after the others, on the next round
    assert seal_now(app, heads_file=str(heads)).register_seq == 6
    assert _check(app, heads_file=str(heads))["checked"] == 6


def _triggers_off(connection, db_url: str) -> None:
    if db_url.startswith("postgresql"):
        connection.execute(text("ALTER TABLE sharing_record DISABLE TRIGGER ALL"))
    else:
        connection.execute(text("DROP TRIGGER IF EXISTS sharing_record_no_update"))
        connection.execute(text("DROP TRIGGER IF EXISTS sharing_record_no_delete"))


def _triggers_on(connection, db_url: str) -> None:
    if db_url.startswith("postgresql"):  # the database is shared by this run's tests
        connection.execute(text("ALTER TABLE sharing_record ENABLE TRIGGER ALL"))


def test_an_edit_of_a_sealed_entry_is_found_and_a_consistent_rewrite_too(app, db_url, tmp_path):
    heads = tmp_path / "heads.jsonl"
    _record(app, 4)
    seal_now(app, batch=2, heads_file=str(heads))
    with app.app_context(), services().db.begin() as connection:
        _triggers_off(connection, db_url)
        connection.execute(text("UPDATE sharing_record SET decision = 'share' WHERE seq = 3"))
        _triggers_on(connection, db_url)
    edited = _check(app)
    assert edited["ok"] is False
    assert edited["broken_at"] == {"seq": 3, "reason": "its content was changed"}

    # Someone with the database alone: every hash after the edit and the head recomputed.
    with app.app_context(), services().db.begin() as connection:
        _triggers_off(connection, db_url)
        rows = connection.execute(
            select(SharingRecord).where(SharingRecord.seq >= 3).order_by(SharingRecord.seq)
        ).all()
        previous = rows[0].prev_hash
        for row in rows:
            # By attribute: the business key's column is "child" (register_chain.ATTRIBUTE_OF).
            by_column = dict(row._mapping, prev_hash=previous)
            chained = {register_chain.ATTRIBUTE_OF.get(k, k): v for k, v in by_column.items()}
            previous = register_chain.digest(SimpleNamespace(**chained))
            connection.execute(
                text("UPDATE sharing_record SET prev_hash = :p, hash = :h WHERE id = :id"),
                {"p": chained["prev_hash"], "h": previous, "id": row.id},
            )
        connection.execute(text("UPDATE audit_seal SET hash = :h WHERE id = 2"), {"h": previous})
        _triggers_on(connection, db_url)
    assert _check(app)["ok"] is True  # the database alone looks whole
    assert _check(app, heads_file=str(heads))["broken_at"] == {
        "seq": 4,
        "reason": "differs from the head published outside the database",
    }


def test_removing_the_newest_entry_is_caught(app, db_url):
    _record(app, 3)
    seal_now(app)
    with app.app_context(), services().db.begin() as connection:
        _triggers_off(connection, db_url)
        connection.execute(text("DELETE FROM sharing_record WHERE seq = 3"))
        _triggers_on(connection, db_url)
    assert _check(app)["broken_at"] == {
        "seq": 3,
        "reason": "the chain ends at 2 but was sealed up to 3",
    }


def test_the_sealing_update_is_the_only_one_allowed_and_only_once(app):
    (entry,) = _record(app)
    refused = (
        "UPDATE sharing_record SET seq = 7, prev_hash = 'p', hash = 'h', sealed_at = recorded_at,"
        " decision = 'share'",  # sealing and changing it at once
        "UPDATE sharing_record SET prev_hash = 'p', hash = 'h'",  # no place in the chain
    )
    for statement in refused:
        with (
            app.app_context(),
            services().db.begin() as connection,
            pytest.raises(DatabaseError, match="append-only"),
        ):
            connection.execute(text(statement))
    seal_now(app)
    with (
        app.app_context(),
        services().db.begin() as connection,
        pytest.raises(DatabaseError, match="append-only"),  # sealed: never again
    ):
        connection.execute(text("UPDATE sharing_record SET seq = 9, hash = 'h'"))
    assert [(r.id, r.seq) for r in _rows(app)] == [(entry, 1)]
    assert _check(app)["ok"] is True


def test_entries_unsealed_past_the_bound_fail_verify(app):
    _record(app, 2)
    assert _check(app, later=299)["ok"] is True
    late = _check(app, later=301)
    assert late["ok"] is False and late["unsealed"] == 2 and late["late"]["count"] == 2
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "AUDIT_SEAL_BOUND_SECONDS": "0"}
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert "sharing register NOT SEALED: 2 entries unsealed for longer than 0 s" in result.output
    sealed = CliRunner().invoke(main, ["audit", "seal"], env=env)
    assert sealed.exit_code == 0 and "2 register entries, up to 2" in sealed.output
    result = CliRunner().invoke(main, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "sharing register intact: 2 entries checked, 0 not sealed yet" in result.output


def test_retention_purges_only_sealed_entries(app):
    """A purge's tombstone covers the entry's hash: an unsealed entry has none yet, so it waits
    for the sealer (``safeguard retention`` seals first)."""
    (entry,) = _record(app)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        assert register_chain.purge(uow.session, [entry], services().clock.now()) == []
        uow.commit()
    seal_now(app)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        assert len(register_chain.purge(uow.session, [entry], services().clock.now())) == 1
        uow.commit()
    (row,) = _rows(app)
    assert row.reasons == register_chain.PURGED and row.hash and row.tombstone
    assert _check(app)["ok"] is True
