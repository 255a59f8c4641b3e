"""Retention: ``safeguard retention --dry-run`` lists, a real run purges closed cases' data past
its period, and both hash chains still verify; the register keeps decision, date and agency."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from service import trail
from service.app import create_app
from service.cli import main
from service.context import services
from storage import UnitOfWork
from storage.models import AuditEvent, Consent, SharingRecord, Task
from tests.service.test_sharing_register import (
    DIAGRAM,
    _share_with_consent,
    _start,
)
from tests.support.helpers import deploy_xml, seal_now
from workflows.clock import FrozenClock

DAYS = {f"RETENTION_{k}_DAYS": "30" for k in ("CASE", "NOTIFICATION", "CONSENT", "AUDIT")}
CONSENT = {
    "child": "child-1",
    "person": "mother",
    "agencies": ["health"],
    "purposes": ["support"],
    "how": "written",
}


@pytest.fixture
def app(db_url):
    clock = FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))  # months before "now"
    app = create_app({"DATABASE_URL": db_url, "TESTING": True}, clock=clock)
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture
def cases(app, client, client_for):
    """child-1: shared with consent, closed; child-open: still waiting for its first step."""
    assert deploy_xml(client, DIAGRAM.read_bytes(), "information_sharing.bpmn").status_code == 201
    pat = client_for("pat", ["practitioner"], agency="school")
    # The front door keeps the consent register (it needs no case of the child to record one).
    colin = client_for("colin", ["csc"], agency="childrens_social_care")
    assert colin.post("/api/consents", json=CONSENT).status_code == 201
    closed = _share_with_consent(app, pat, "child-1")
    running = _start(pat, "child-open")
    seal_now(app)  # months ago: the serving processes sealed it all long since
    return {"closed": closed, "running": running, "pat": pat}


def _cli(db_url: str, *args: str, register_days: str = "30"):
    env = {"DATABASE_URL": db_url, **DAYS, "RETENTION_REGISTER_DAYS": register_days}
    return CliRunner().invoke(main, ["retention", *args], env=env)


def _entry(app, instance_id: str, linked: bool = False) -> SharingRecord:
    """The instance's decision entry, or (``linked``) the entry that follows it."""
    follows = SharingRecord.follows.is_not(None) if linked else SharingRecord.follows.is_(None)
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.scalars(
            select(SharingRecord).where(SharingRecord.instance_id == instance_id, follows)
        ).one()
        uow.session.expunge(row)
        return row


def _refused(app, statement: str, entry_id: int) -> None:
    with (
        app.app_context(),
        UnitOfWork(services().session_factory) as uow,
        pytest.raises(DatabaseError),
    ):
        uow.session.execute(text(statement), {"id": entry_id})


def test_dry_run_lists_and_changes_nothing(app, db_url, cases):
    result = _cli(db_url, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would purge child-1 (closed 2026-03-02)" in result.output
    assert "1 consent(s)" in result.output and "2 register entr(ies)" in result.output
    assert "child-open" not in result.output
    assert _entry(app, cases["closed"]).business_key == "child-1"


def test_a_run_purges_the_closed_case_and_both_chains_still_verify(app, db_url, client, cases):
    before = _entry(app, cases["closed"])
    told = _entry(app, cases["closed"], linked=True)
    result = _cli(db_url)
    assert result.exit_code == 0, result.output
    assert "purged: cases 1" in result.output

    after = _entry(app, cases["closed"])
    assert after.business_key is None and after.reasons == "(purged)" and after.purpose is None
    assert (after.decision, after.with_consent, after.decided_at) == (
        before.decision,
        before.with_consent,
        before.decided_at,
    )
    assert after.recipients == [{"agency": "health"}]  # the person named is gone
    assert after.hash == before.hash and after.tombstone and after.purged_at
    told_after = _entry(app, cases["closed"], linked=True)  # still linked to its decision
    assert told_after.follows == told.follows == before.id and told_after.purged_at
    assert told_after.subject_informed is True and told_after.reasons == "(purged)"
    assert client.get("/api/audit/verify").get_json()["ok"] is True
    assert client.get("/api/sharing-records/verify").get_json()["ok"] is True
    assert cases["pat"].get(f"/api/process-instances/{cases['closed']}").status_code == 410

    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        session = uow.session
        assert session.scalars(select(Consent)).all() == []
        answers = session.scalars(select(Task.data).where(Task.instance_id == cases["closed"]))
        assert all(data is None for data in answers)
        assert not session.scalars(select(AuditEvent).where(AuditEvent.case_key == "child-1")).all()
        assert session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "cli.retention")
        ).one()
    # A second run has only the audit event of the 410 above left to purge (once inserted).
    trail.flush(app)
    again = _cli(db_url)
    assert again.output.endswith("purged: cases 1, audit_events 1\n"), again.output
    assert cases["pat"].get(f"/api/process-instances/{cases['running']}").status_code == 200


def test_the_register_still_refuses_any_other_update(app, db_url, cases):
    entry = _entry(app, cases["closed"])
    statements = (
        "UPDATE sharing_record SET decision = 'not_share' WHERE id = :id",
        # the purge's shape, but changing the decision too
        "UPDATE sharing_record SET child = NULL, consent_override_reason = NULL, purpose = NULL,"
        " information_shared = NULL, views_of_child_or_family = NULL,"
        " not_informed_reason = NULL, reasons = '(purged)', purged_at = recorded_at,"
        " tombstone = hash, decision = 'not_share' WHERE id = :id",
        "DELETE FROM sharing_record WHERE id = :id",
    )
    for statement in statements:
        _refused(app, statement, entry.id)
    # the purge's shape, but unlinking the telling entry from its decision
    told = _entry(app, cases["closed"], linked=True)
    _refused(
        app,
        "UPDATE sharing_record SET child = NULL, consent_override_reason = NULL, purpose = NULL,"
        " information_shared = NULL, views_of_child_or_family = NULL,"
        " not_informed_reason = NULL, reasons = '(purged)', purged_at = recorded_at,"
        " tombstone = hash, follows = NULL WHERE id = :id",
        told.id,
    )
    # Past the register's period only: purged once, then the trigger refuses a second purge.
    assert _cli(db_url, register_days="100000").exit_code == 0
    assert _entry(app, cases["closed"]).business_key == "child-1"
    assert _cli(db_url).exit_code == 0
    _refused(app, "UPDATE sharing_record SET purged_at = recorded_at WHERE id = :id", entry.id)


def test_an_edit_of_a_purged_audit_event_still_breaks_the_chain(app, db_url, client, cases):
    assert _cli(db_url).exit_code == 0
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        seq = uow.session.scalars(
            select(AuditEvent.seq).where(AuditEvent.tombstone.is_not(None)).limit(1)
        ).one()
        uow.session.execute(
            text("UPDATE audit_event SET actor = 'someone-else' WHERE seq = :seq"), {"seq": seq}
        )
        uow.commit()
    broken = client.get("/api/audit/verify").get_json()
    assert broken["ok"] is False
    assert broken["broken_at"] == {"seq": seq, "reason": "its tombstone does not match"}
