"""Kill -9 the service at random moments under load; nothing promised may be lost or doubled.

The real service (waitress on SQLite, gunicorn with two workers on PostgreSQL) runs with
reminders, escalations and BPMN timers due within seconds and an SMTP server catching its
emails. Four practitioners work against it (``tests/faults/load.py``) while it is killed with
SIGKILL four times at moments drawn from a seeded random generator, and started again each time.
Afterwards, with the service up:

- every 2xx is in the database: each instance started, each task completed by whom and with the
  answers the journal says, each claim;
- no task was completed twice, no BPMN timer took a step away twice (one chase per check);
- every instance deserialises and continues: all remaining steps are done through the API until
  each instance is completed;
- every timer due has fired (a claim left by a killed process runs out its 2 s lease and is fired
  by the next), none twice: no duplicate notification, no email sent twice;
- the audit trail's hash chain verifies (``safeguard audit verify``), and so does the sharing
  register's (``GET /api/sharing-records/verify``), which holds one entry per decision made.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.casework import QUICK, SHARING, TEAM, Db, fired_in_log, team_tokens
from tests.faults.load import ANSWERS, Journal, Worker
from tests.support.live import Service, run_cli
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.slow
SEED = 8_2026
KILLS = 4
PEOPLE = ("pat", "sam", "kim", "lou")


@pytest.fixture
def sink():
    with SmtpSink() as sink:
        yield sink


def test_kill_minus_nine_under_load_loses_and_doubles_nothing(db_url, tmp_path, sink):
    rng = random.Random(SEED)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PYTHONUNBUFFERED": "1",
        "TIMER_LEASE_SECONDS": "2",
        "TIMER_SWEEP_SECONDS": "1",
        "DIAGRAM_SHORTEST_TIMER_SECONDS": "1",  # quick_steps' timers fire in seconds
        "SMTP_URL": sink.url,
    }
    run_cli(env, "deploy", QUICK, SHARING)
    tokens = team_tokens(db_url, [*TEAM, ("ada", ["admin"], "partnership", None)])
    server = "gunicorn" if db_url.startswith("postgresql") else "waitress"
    service = Service(env, tmp_path / "service.log", server=server, workers=2)
    journal, up, stop = Journal(), threading.Event(), threading.Event()
    workers = [
        Worker(service, name, tokens[name], journal, rng.getrandbits(32), up, stop)
        for name in PEOPLE
    ]
    db = Db(db_url)
    try:
        service.start()
        up.set()
        for worker in workers:
            worker.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 2.5))  # a random moment of the load
            up.clear()
            service.kill()
            service.start()
            up.set()
        time.sleep(1)
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        assert not any(w.is_alive() for w in workers), "a client hung"
        for worker in workers:
            if worker.error is not None:
                raise worker.error

        _promises_are_kept(db, journal)
        # The steps left open come due within seconds: let all of their timers fire first.
        soon = datetime.now(UTC) + timedelta(seconds=4)
        db.wait_for(lambda: db.due_timers_left(by=soon) == 0, 30, "the timers due soon to fire")
        _every_instance_runs_to_its_end(service, db, tokens)
        db.wait_for(lambda: db.due_timers_left() == 0, 30, "every due timer to fire")
        status, register = service.request(
            "GET", "/api/sharing-records/verify", token=tokens["ada"]
        )
        assert status == 200 and register["ok"], register
        assert "audit trail intact" in run_cli(env, "audit", "verify")
    finally:
        stop.set()
        up.set()
        service.kill()
        log = service.text()
        db.close()

    print(
        f"{server}: {len(journal.started)} started, {len(journal.completed)} completed, "
        f"{journal.conflicts} conflicts, {journal.unanswered} cut off by a kill, "
        f"{len(fired_in_log(log))} timers fired in the log, {len(sink.received())} emails"
    )
    assert journal.unexpected == [], journal.unexpected
    assert journal.unanswered > 0, "no request was cut off: the kills missed the load"
    _nothing_happened_twice(db, log, sink)
    _each_decision_registered_once(db)


def _promises_are_kept(db: Db, journal: Journal) -> None:
    """Every 2xx of the journal is in the database; no task was acknowledged twice."""
    assert journal.twice == [], f"tasks completed twice: {journal.twice}"
    assert journal.started, "no instance was started"
    instances = {
        row.id: row for row in db.rows("SELECT id, business_key, started_by FROM process_instance")
    }
    for instance_id, (user, key) in journal.started.items():
        assert instance_id in instances, f"started instance {instance_id} was lost"
        assert (instances[instance_id].business_key, instances[instance_id].started_by) == (
            key,
            user,
        )
    keys = Counter(row.business_key for row in instances.values())
    assert max(keys.values()) == 1  # no case started twice
    tasks = {row.id: row for row in db.rows("SELECT id, status, completed_by, assignee FROM task")}
    for task_id, (user, _data) in journal.completed.items():
        row = tasks[task_id]
        assert (row.status, row.completed_by) == ("completed", user), task_id
    for task_id, user in journal.claimed.items():
        row = tasks[task_id]
        assert row.assignee == user or row.completed_by == user, task_id
    per_step = db.rows(
        "SELECT instance_id, element_id, COUNT(*) FROM task WHERE status = 'completed' "
        "GROUP BY instance_id, element_id HAVING COUNT(*) > 1"
    )
    assert per_step == [], f"steps done twice: {per_step}"


def _every_instance_runs_to_its_end(service: Service, db: Db, tokens: dict) -> None:
    """Load each instance through the API and do what is left, as the person who started it."""
    for instance_id, started_by in db.rows("SELECT id, started_by FROM process_instance"):
        token = tokens[started_by]
        for _ in range(12):
            status, instance = service.request(
                "GET", f"/api/process-instances/{instance_id}", token=token
            )
            assert status == 200, instance
            if instance["state"] != "running":
                break
            for task in instance["active_tasks"]:
                data = ANSWERS[task["element_id"]]
                path = f"/api/tasks/{task['id']}/complete"
                status, answer = service.request("POST", path, {"data": data}, token=token)
                assert status in (200, 409), answer  # 409: a timer took the step meanwhile
        assert instance["state"] == "completed", instance


def _nothing_happened_twice(db: Db, log: str, sink: SmtpSink) -> None:
    chases = db.rows(
        "SELECT instance_id, COUNT(*) FROM task WHERE element_id = 'chase' "
        "GROUP BY instance_id HAVING COUNT(*) > 1"
    )
    assert chases == [], f"a BPMN timer fired twice: {chases}"
    assert db.duplicate_notifications() == []
    fired = fired_in_log(log)
    assert fired and max(fired.values()) == 1, [t for t, n in fired.items() if n > 1]
    assert db.scalar("SELECT COUNT(*) FROM timer WHERE status = 'fired'") >= len(fired)
    # Each email is one notification row, sent at most once (a kill may lose one, never double).
    rows = db.rows(
        "SELECT u.email, n.title, n.link FROM notification n JOIN app_user u "
        "ON u.username = n.username WHERE u.email IS NOT NULL"
    )
    allowed = Counter((email, _words(title), link) for email, title, link in rows)
    sent: Counter = Counter()
    for recipients, message in sink.received():
        body = SmtpSink.text(message)
        link = next(
            (row_link for (_, _, row_link) in allowed if row_link and row_link in body), None
        )
        for recipient in recipients:
            sent[(recipient, _words(message["Subject"]), link)] += 1
    assert sent, "no email went out: the timers did not run"
    over = {key: n for key, n in sent.items() if n > allowed[key]}
    assert over == {}, f"emails sent more often than their notifications: {over}"


def _words(text: str) -> str:
    return " ".join(str(text).split())  # a long subject comes back folded


def _each_decision_registered_once(db: Db) -> None:
    entries = db.rows(
        "SELECT instance_id, COUNT(*) FROM sharing_record "
        "WHERE corrects IS NULL AND follows IS NULL GROUP BY instance_id"
    )
    assert entries, "no decision reached the register"
    assert {n for _, n in entries} == {1}
    completed = db.scalar(
        "SELECT COUNT(*) FROM process_instance WHERE process_key = 'information_sharing' "
        "AND status = 'completed'"
    )
    assert len(entries) == completed
