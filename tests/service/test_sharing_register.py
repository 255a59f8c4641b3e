"""The information-sharing register: one append-only, hash-chained entry per decision."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from records import register, register_chain
from service.context import services
from storage import UnitOfWork
from storage.models import AppendOnlyError, SharingRecord
from tests.support.helpers import (
    assert_error,
    deploy_xml,
    open_task_id,
    seal_now,
    start_instance,
)

DIAGRAM = Path(__file__).resolve().parents[2] / "bpmn" / "information_sharing.bpmn"
REQUEST = {
    "information": "Attendance and the child's account of home",
    "recipient_agency": "health",
    "recipient_person": "School nurse",
    "purpose": "Arrange health support",
    "urgent": False,
    "legitimate_purpose": "yes",
    "identifies_living_person": True,
    "confidential": True,
}
CHECK = {
    "significant_harm": False,
    "prevent_serious_crime": False,
    "cse_concern": False,
    "child_age": 14,
    "sexual_activity": False,
    "consent_unsafe": False,
    "in_doubt": False,
}
SHARE = {
    "information_shared": "Attendance record",
    "method": "secure_email",
    "necessary_and_proportionate": True,
}


@pytest.fixture
def pat(client, client_for):
    response = deploy_xml(client, DIAGRAM.read_bytes(), filename="information_sharing.bpmn")
    assert response.status_code == 201, response.get_json()
    return client_for("pat", ["practitioner"], agency="school")


def _do(app, pat, instance_id: str, element_id: str, data: dict) -> dict:
    task_id = open_task_id(app, instance_id, element_id)
    response = pat.post(f"/api/tasks/{task_id}/complete", json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _start(pat, business_key: str) -> str:
    response = start_instance(pat, "information_sharing", business_key=business_key)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _share_with_consent(app, pat, business_key: str = "child-1") -> str:
    instance_id = _start(pat, business_key)
    _do(app, pat, instance_id, "describe_request", REQUEST)
    _do(app, pat, instance_id, "safeguarding_check", CHECK)
    consent = {"consent_outcome": "given", "views_of_child_or_family": "Happy for it"}
    _do(app, pat, instance_id, "seek_consent", consent)
    _do(app, pat, instance_id, "share_information", SHARE)
    _do(app, pat, instance_id, "inform_family", {"subject_informed": True})
    return instance_id


def _not_share(app, pat, business_key: str = "child-2") -> str:
    instance_id = _start(pat, business_key)
    body = _do(app, pat, instance_id, "describe_request", {**REQUEST, "legitimate_purpose": "no"})
    assert body["state"] == "completed"
    return instance_id


def _records(app) -> list[SharingRecord]:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        rows = list(uow.session.scalars(select(SharingRecord).order_by(SharingRecord.id)))
        uow.session.expunge_all()
        return rows


def test_each_decision_is_recorded_once_and_listed(app, client, client_for, pat):
    shared = _share_with_consent(app, pat)
    not_shared = _not_share(app, pat)
    assert seal_now(app).entries == 3  # chained by the sealer, oldest first
    rows = _records(app)
    assert [(r.instance_id, r.decision, r.follows) for r in rows] == [
        (shared, "share", None),
        (shared, "share", 1),  # the family told: a linked entry, the decision's left as it was
        (not_shared, "not_share", None),
    ]
    share, told, refuse = rows
    assert share.subject_informed is None
    assert told.subject_informed is True and told.decided_by == "pat"
    assert told.reasons == "The family was told what was shared and why"
    assert share.with_consent is True and share.lawful_basis == "Informed consent"
    assert share.business_key == "child-1" and share.decided_by == "pat"
    assert share.consent_status == "given" and share.method == "secure_email"
    assert share.recipients == [{"agency": "health", "person": "School nurse"}]
    assert share.views_of_child_or_family == "Happy for it"
    assert refuse.with_consent is False and refuse.lawful_basis is None
    assert refuse.reasons == "No clear and legitimate purpose for sharing"
    assert told.prev_hash == share.hash and refuse.prev_hash == told.hash

    auditor = client_for("dee", ["auditor"], agency="partnership")
    body = auditor.get("/api/sharing-records").get_json()
    assert [(item["decision"], item["follows"]) for item in body["items"]] == [
        ("share", None),
        ("share", 1),
        ("not_share", None),
    ]
    assert body["next_cursor"] is None
    only = auditor.get("/api/sharing-records?decision=not_share&child=child-2").get_json()
    assert [item["instance_id"] for item in only["items"]] == [not_shared]
    page = auditor.get("/api/sharing-records?limit=1").get_json()
    assert len(page["items"]) == 1 and page["next_cursor"] == "1"


def test_a_manager_sees_only_the_cases_they_may_see(app, client_for, pat):
    _not_share(app, pat)
    outsider = client_for("olga", ["manager"], agency="police")
    assert outsider.get("/api/sharing-records").get_json()["items"] == []
    boss = client_for("maya", ["manager"], agency="school")
    assert boss.get("/api/sharing-records").get_json()["items"] == []
    auditor = client_for("dee", ["auditor"], agency="partnership")
    assert len(auditor.get("/api/sharing-records").get_json()["items"]) == 1  # every case
    board = client_for("bea", ["board"])
    assert_error(board.get("/api/sharing-records"), 403, "forbidden")  # aggregates only
    admin = client_for("ada2", ["admin"])
    assert_error(admin.get("/api/sharing-records"), 403, "forbidden")  # runs it, reads no rows
    (own,) = pat.get("/api/sharing-records").get_json()["items"]  # a party to the case
    assert own["decided_by"] == "pat"
    stranger = client_for("tom", ["practitioner"], agency="health")
    assert stranger.get("/api/sharing-records").get_json()["items"] == []


def test_records_cannot_be_changed_or_removed(app, db_url, pat):
    _not_share(app, pat)
    for statement in (
        "UPDATE sharing_record SET decision = 'share'",
        "UPDATE sharing_record SET follows = id",
        "DELETE FROM sharing_record",
    ):
        with (
            app.app_context(),
            UnitOfWork(services().session_factory) as uow,
            pytest.raises(DatabaseError, match="append-only"),
        ):
            uow.session.execute(text(statement))
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.scalars(select(SharingRecord)).one()
        row.reasons = "rewritten"
        with pytest.raises(AppendOnlyError):
            uow.session.flush()
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        row = uow.session.scalars(select(SharingRecord)).one()
        uow.session.delete(row)
        with pytest.raises(AppendOnlyError):
            uow.session.flush()
    assert [r.reasons for r in _records(app)] == ["No clear and legitimate purpose for sharing"]


def test_no_route_changes_or_removes_an_entry(app, client, pat):
    _not_share(app, pat)
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)("/api/sharing-records/1", json={})
        assert response.status_code in (404, 405)


def _decided_under(client_for, app):
    """A not-share decided by paula, whose line manager is dora, a DSL: who may correct it."""
    dora = client_for("dora", ["dsl"], agency="school")
    _not_share(app, client_for("paula", ["practitioner"], agency="school", manager="dora"))
    return dora


def test_a_correction_is_a_new_entry_that_references_the_old(app, client_for, pat):
    dora = _decided_under(client_for, app)
    correction = {
        "decision": "share",
        "with_consent": False,
        "lawful_basis": "UK GDPR Art. 6(1)(e); DPA 2018 Sch. 1 para 18",
        "reasons": "The purpose was misread: this is a safeguarding share",
        "recipients": [{"agency": "police"}],
    }
    response = dora.post("/api/sharing-records/1/corrections", json=correction)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["corrects"] == 1 and body["id"] == 2 and body["child"] == "child-2"
    assert body["decided_by"] == "dora" and body["recipients"] == [{"agency": "police"}]
    seal_now(app)
    original, fixed = _records(app)
    assert original.decision == "not_share" and fixed.prev_hash == original.hash


def test_a_share_without_consent_needs_a_lawful_basis(app, client, client_for, pat):
    dora = _decided_under(client_for, app)
    bad = {"decision": "share", "with_consent": False, "reasons": "Because"}
    error = assert_error(dora.post("/api/sharing-records/1/corrections", json=bad), 422)
    assert [d["field"] for d in error["details"]] == ["lawful_basis"]
    assert len(_records(app)) == 1
    assert_error(dora.post("/api/sharing-records/99/corrections", json=bad), 404)
    # An administrator does no casework: the entry is not theirs to see, so not to correct.
    assert_error(client.post("/api/sharing-records/1/corrections", json=bad), 404)


def test_a_replayed_advance_records_nothing_twice(app, pat):
    from datetime import UTC, datetime

    from storage.models import ProcessInstance
    from workflows.events import Advance, InstanceFacts, ScriptRun

    _not_share(app, pat)
    (row,) = _records(app)
    assert row.source_task_id is not None
    entry = {"decision": "not_share", "with_consent": False, "reasons": "No purpose"}
    run = ScriptRun(row.source_task_id, "record_decision", {"register_entry": entry})
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        instance = InstanceFacts.of(uow.session.get(ProcessInstance, row.instance_id))
        advance = Advance(instance=instance, scripts=(run,))
        register.after_advance(uow.session, advance, "pat", datetime.now(UTC))
        uow.commit()
    assert len(_records(app)) == 1


def test_an_edit_with_the_triggers_dropped_is_found_by_verify(app, db_url, client, pat):
    _share_with_consent(app, pat)
    _not_share(app, pat)
    seal_now(app)
    assert client.get("/api/sharing-records/verify").get_json() == {
        "ok": True,
        "checked": 3,
        "unsealed": 0,
        "heads_file": False,
    }
    postgres = db_url.startswith("postgresql")
    with app.app_context(), services().db.begin() as connection:
        if postgres:  # the database is shared by this run's tests: switched back on below
            connection.execute(text("ALTER TABLE sharing_record DISABLE TRIGGER ALL"))
        else:
            connection.execute(text("DROP TRIGGER sharing_record_no_update"))
        # unlinking the telling entry from its decision is an edit like any other
        connection.execute(text("UPDATE sharing_record SET follows = NULL WHERE id = 2"))
        if postgres:
            connection.execute(text("ALTER TABLE sharing_record ENABLE TRIGGER ALL"))
    report = client.get("/api/sharing-records/verify").get_json()
    assert report["ok"] is False and report["broken_at"]["seq"] == 2
    assert_error(pat.get("/api/sharing-records/verify"), 403)


def test_the_hash_names_the_business_key_by_its_column_child(app, pat):
    """The hash covers each value under its column's name, so the business key is hashed as
    ``child``: entries chained before its attribute was renamed still verify."""
    _share_with_consent(app, pat)
    seal_now(app)
    table = SharingRecord.__table__
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        rows = uow.session.execute(select(table).order_by(table.c.id)).mappings().all()
    assert [row["child"] for row in rows] == ["child-1", "child-1"]
    for row in rows:
        body = {name: row[name] for name in register_chain.HASHED}
        if row["follows"] is not None:
            body["follows"] = row["follows"]
        for name in ("decided_at", "recorded_at"):
            body[name] = body[name].isoformat()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        assert hashlib.sha256(canonical.encode()).hexdigest() == row["hash"]
