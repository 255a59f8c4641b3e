"""Migration 0017 on a register chained the old way (under a lock, walked by ``id``): the
entries keep their hashes and verify as sealed; new ones start unsealed and are chained after
them; the downgrade goes back while every entry sits at its ``id``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from records import register, register_chain
from records.chain import GENESIS
from records.sealing import REGISTER, check, seal
from storage import make_engine, make_session_factory
from storage.migrate import alembic_config, upgrade
from tests.conftest import PG_ADMIN_URL

WHEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """A database of its own, with nothing migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("pg_database")  # skips (or fails on CI) without PostgreSQL
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"sf_mig_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _old_entries(engine, count: int) -> list[str]:
    """Entries as 0016's code wrote them: ids 1, 2, … each hashed after the one before."""
    hashes, previous = [], GENESIS
    with engine.begin() as connection:
        for number in range(1, count + 1):
            row = {
                **dict.fromkeys(register_chain.HASHED),
                "id": number,
                "decision": "not_share",
                "with_consent": False,
                "recipients": [],
                "reasons": f"reason {number}",
                "decided_at": WHEN,
                "recorded_at": WHEN,
                "prev_hash": previous,
                "follows": None,
            }
            previous = register_chain.digest(SimpleNamespace(**row))
            hashes.append(previous)
            connection.execute(
                text(
                    "INSERT INTO sharing_record (id, decision, with_consent, recipients, reasons,"
                    " decided_at, recorded_at, prev_hash, hash) VALUES (:id, 'not_share', false,"
                    " '[]', :reasons, :at, :at, :prev, :hash)"
                ),
                {
                    "id": number,
                    "reasons": row["reasons"],
                    "at": WHEN if engine.dialect.name == "postgresql" else "2026-03-02 10:00:00",
                    "prev": row["prev_hash"],
                    "hash": previous,
                },
            )
    return hashes


def test_entries_chained_before_keep_their_hashes_and_new_ones_follow(empty_url):
    upgrade(empty_url, "0016")
    engine = make_engine(empty_url)
    try:
        hashes = _old_entries(engine, 3)
        upgrade(empty_url)
        factory = make_session_factory(engine)
        with factory() as session:
            report = check(session, WHEN, 300, None, REGISTER)
        assert report == {"ok": True, "checked": 3, "unsealed": 0, "heads_file": False}
        with factory() as session, session.begin():
            row = register.record(
                session,
                {"decision": "share", "with_consent": True, "reasons": "Agreed"},
                instance_id=None,
                decided_by="pat",
                now=WHEN,
            )
            assert (row.id, row.seq, row.hash) == (4, None, None)
        assert seal(factory, WHEN).register_seq == 4
        with factory() as session:
            stored = session.execute(
                text("SELECT id, seq, hash, prev_hash FROM sharing_record ORDER BY id")
            ).all()
            assert check(session, WHEN, 300, None, REGISTER)["checked"] == 4
        assert [r.hash for r in stored[:3]] == hashes  # unchanged by the migration
        assert [(r.id, r.seq) for r in stored] == [(1, 1), (2, 2), (3, 3), (4, 4)]
        assert stored[3].prev_hash == hashes[-1]

        command.downgrade(alembic_config(empty_url), "0016")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT hash FROM sharing_record ORDER BY id")).all()
        assert [r.hash for r in kept[:3]] == hashes and len(kept) == 4
    finally:
        engine.dispose()
