"""gunicorn with four workers, each running the timer scheduler, on one database.

``make serve-prod``'s process model for real: the production gunicorn settings
(``service/gunicorn_conf.py``), four worker processes each with its own scheduler looking for
due timers every half second. Each timer must still fire exactly once, and a worker killed in
the middle of firing one must leave it to another, which fires it once when the lease runs out.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from storage import make_engine
from tests.faults.casework import QUICK, Db, fired_in_log, firing_workers, team_tokens
from tests.support.live import ROOT, Service, run_cli

pytestmark = pytest.mark.slow
INSTANCES = 16
TIMERS_PER_INSTANCE = 4  # reminder at half-time, reminder when due, the due time, the BPMN timer


def _environment(db_url: str, **extra: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "PYTHONUNBUFFERED": "1",
        "TIMER_SWEEP_SECONDS": "0.5",
        "DIAGRAM_SHORTEST_TIMER_SECONDS": "1",  # quick_steps' timers fire in seconds
        **extra,
    }


def _start_instances(service: Service, token: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        status, body = service.request(
            "POST",
            "/api/process-instances",
            {"process_key": "quick_steps", "business_key": f"child-{n}"},
            token=token,
        )
        assert status == 201, body
        ids.append(body["id"])
    return ids


def test_four_workers_each_with_a_scheduler_fire_every_timer_once(db_url, tmp_path):
    env = _environment(db_url)
    run_cli(env, "deploy", QUICK)
    tokens = team_tokens(db_url)
    service = Service(env, tmp_path / "gunicorn.log", server="gunicorn", workers=4)
    db = Db(db_url)
    try:
        service.start()
        ids = _start_instances(service, tokens["pat"], INSTANCES)
        db.wait_for(
            lambda: (
                db.scalar("SELECT COUNT(*) FROM task WHERE element_id = 'chase'") >= INSTANCES
                and db.due_timers_left() == 0
            ),
            60,
            "every step to be chased",
        )
        assert service.stop() == 0  # graceful: every worker stops its scheduler and exits
    finally:
        service.kill()
        log = service.text()
        db.close()

    started = set(re.findall(r"worker (\d+): timer scheduler started", log))
    assert len(started) == 4, log[-3000:]
    # Each instance's BPMN timer fired once: one chase step each, never two.
    chases = db.rows(
        "SELECT instance_id, COUNT(*) FROM task WHERE element_id = 'chase' GROUP BY instance_id"
    )
    assert sorted(i for i, _ in chases) == sorted(ids)
    assert {n for _, n in chases} == {1}
    assert db.duplicate_notifications() == []
    fired = fired_in_log(log)
    assert set(fired.values()) == {1}, [t for t, n in fired.items() if n > 1]
    statuses = dict(db.rows("SELECT status, COUNT(*) FROM timer GROUP BY status"))
    assert statuses.get("fired", 0) == len(fired)
    assert statuses.get("fired", 0) + statuses.get("cancelled", 0) == (
        INSTANCES * TIMERS_PER_INSTANCE
    ), statuses
    assert len(firing_workers(log)) >= 2, firing_workers(log)  # they really did share the work


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_worker_killed_while_firing_a_timer_leaves_it_to_another(db_url, tmp_path):
    """Hold the notification table locked, so that the worker firing the half-time reminder
    stops inside the handler; kill that worker; release. After the 3 s lease another worker
    claims the timer and fires it: one reminder per person, not two, not none."""
    env = _environment(db_url, TIMER_LEASE_SECONDS="3")
    # The step must still be open when the lease runs out: its BPMN timer (3 s) would take it
    # away and cancel the reminder with it (rightly). Here it waits a minute instead.
    slow = tmp_path / "quick_steps.bpmn"
    slow.write_bytes((ROOT / QUICK).read_bytes().replace(b'"PT3S"', b'"PT60S"'))
    run_cli(env, "deploy", str(slow))
    tokens = team_tokens(db_url)
    service = Service(env, tmp_path / "gunicorn.log", server="gunicorn", workers=4)
    db = Db(db_url)
    holder = make_engine(db_url).connect()
    try:
        service.start()
        holder.execute(text("LOCK TABLE notification IN SHARE ROW EXCLUSIVE MODE"))
        [instance_id] = _start_instances(service, tokens["pat"], 1)
        halfway = (
            "SELECT id, claimed_by, status, attempts FROM timer WHERE kind = 'task_reminder' "
            "AND instance_id = :i ORDER BY due_at LIMIT 1"
        )
        blocked = (
            "SELECT COUNT(*) FROM pg_locks WHERE NOT granted "
            "AND relation = 'notification'::regclass"
        )
        db.wait_for(
            lambda: (
                db.rows(halfway, i=instance_id)[0].status == "claimed" and db.scalar(blocked) > 0
            ),
            30,
            "a worker to be stuck firing the reminder",
        )
        timer_id, claimed_by, _, _ = db.rows(halfway, i=instance_id)[0]
        victim = int(claimed_by.split(":")[1])
        os.kill(victim, signal.SIGKILL)
        holder.rollback()  # the lock goes; the victim's transaction died with it

        db.wait_for(
            lambda: db.rows(halfway, i=instance_id)[0].status == "fired",
            60,
            f"the takeover from {victim} at {datetime.now(UTC)}",
        )
        _, _, _, attempts = db.rows(halfway, i=instance_id)[0]
        status, health = service.request("GET", "/healthz")
        assert status == 200, health  # gunicorn replaced the dead worker
    finally:
        holder.close()
        service.kill()
        log = service.text()
        db.close()

    assert attempts == 2  # claimed by the victim, then once more after its lease ran out
    fired_by = [w for w, n in firing_workers(log).items() for _ in range(n)]
    assert fired_in_log(log)[timer_id] == 1
    assert str(victim) not in fired_by
    reminded = db.rows(
        "SELECT username, COUNT(*) FROM notification WHERE kind = 'reminder' AND title LIKE "
        "'%is due %' AND title NOT LIKE '%due now%' GROUP BY username ORDER BY username"
    )
    assert [(name, n) for name, n in reminded] == [
        ("kim", 1),
        ("lou", 1),
        ("pat", 1),
        ("sam", 1),
    ]


def _scrape(service: Service) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == 200
        return response.read().decode()
    finally:
        connection.close()


def test_metrics_add_up_every_worker(tmp_path):
    """Requests spread over four workers; every scrape, whichever worker answers it, counts
    them all."""
    counts = tmp_path / "metrics"
    env = _environment(f"sqlite:///{tmp_path / 'metrics.db'}", PROMETHEUS_MULTIPROC_DIR=str(counts))
    run_cli(env, "db", "upgrade")
    service = Service(env, tmp_path / "gunicorn.log", server="gunicorn", workers=4)
    health = re.compile(
        r'^safeguard_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$',
        re.MULTILINE,
    )
    try:
        service.start()  # its readiness checks are /healthz requests too
        booted = re.compile(r"Booting worker with pid: (\d+)")
        deadline = time.monotonic() + 30
        while len(booted.findall(service.text())) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(40):
            assert service.request("GET", "/healthz")[0] == 200
        seen = {float(health.search(_scrape(service)).group(1)) for _ in range(12)}
    finally:
        service.kill()
    answered_by = {path.stem.rsplit("_", 1)[-1] for path in counts.glob("counter_*.db")}
    assert len(answered_by) >= 2, answered_by  # the requests did reach several workers
    assert len(seen) == 1 and seen.pop() >= 40, seen  # and every scrape counts them all
