"""A running instance survives the service being killed (SIGKILL) and started again.

This runs the real thing: the installed ``safeguard`` command migrates, deploys and serves on a
free port (waitress), and the test talks to it over HTTP only — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os

import pytest

from service.app import create_app
from tests.support.helpers import complete_task, open_task_id
from tests.support.live import Service
from tests.support.live import run_cli as _run

FIXTURE = "tests/fixtures/three_steps.bpmn"


@pytest.mark.slow
def test_a_started_instance_survives_sigkill_and_restart(db_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONUNBUFFERED": "1"}
    assert "database is up to date" in _run(env, "db", "upgrade")
    assert "three_steps version 1 (deployed)" in _run(env, "deploy", FIXTURE)
    _run(
        env,
        "users",
        "add",
        "pat",
        "--role",
        "practitioner",
        "--role",
        "manager",
        "--password-stdin",
        stdin="correct-horse-battery\n",
    )

    service = Service(env, tmp_path / "service.log")
    try:
        service.start()
        status, signed_in = service.request(
            "POST", "/api/auth/token", {"username": "pat", "password": "correct-horse-battery"}
        )
        assert status == 200, signed_in
        service.token = signed_in["token"]
        status, started = service.request(
            "POST",
            "/api/process-instances",
            {"process_key": "three_steps", "business_key": "child-9", "variables": {"year": 1}},
        )
        assert status == 201, started
        instance_id = started["id"]
        [task] = started["active_tasks"]
        assert task["element_id"] == "describe"

        service.kill()
        service.start()

        status, after = service.request("GET", f"/api/process-instances/{instance_id}")
        assert status == 200, after
        assert after["state"] == "running"
        assert after["business_key"] == "child-9"
        assert after["variables"] == {"source": None, "year": 1, "note": None}
        assert after["version"] == started["version"]
        assert [(t["id"], t["element_id"]) for t in after["active_tasks"]] == [
            (task["id"], "describe")
        ]
        status, listed = service.request("GET", "/api/process-instances?business_key=child-9")
        assert [i["id"] for i in listed["items"]] == [instance_id]

        # Work done by another process while this one runs is seen, and kept across a kill.
        app = create_app({"DATABASE_URL": db_url, "TESTING": True})
        try:
            complete_task(
                app, open_task_id(app, instance_id, "describe"), {"concern": "x", "severity": 8}
            )
        finally:
            app.extensions["safeguard"].db.dispose()
        status, moved = service.request("GET", f"/api/process-instances/{instance_id}")
        assert [t["element_id"] for t in moved["active_tasks"]] == ["review"]

        service.kill()
        service.start()

        status, after = service.request("GET", f"/api/process-instances/{instance_id}")
        assert status == 200, after
        assert [t["element_id"] for t in after["active_tasks"]] == ["review"]
        assert after["variables"]["high_risk"] is True
        status, diagram = service.request("GET", f"/api/process-instances/{instance_id}/diagram")
        assert diagram["active"] == ["review"]

        status, cancelled = service.request(
            "POST", f"/api/process-instances/{instance_id}/cancel", {"reason": "test over"}
        )
        assert status == 200, cancelled
        assert cancelled["state"] == "cancelled" and cancelled["active_tasks"] == []
    finally:
        service.kill()
