"""A running instance survives the service being killed (SIGKILL) and started again.

This runs the real thing: the installed ``safeguard`` command migrates, deploys and serves on a
free port (waitress), and the test talks to it over HTTP only — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.app import create_app
from tests.service.helpers import complete_task, open_task_id

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = "tests/fixtures/three_steps.bpmn"


def _safeguard() -> str:
    candidates = (ROOT / ".venv" / "bin" / "safeguard", Path(sys.executable).parent / "safeguard")
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    pytest.fail("the safeguard command is not installed (pip install -e .)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """``safeguard serve`` as a child process."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.token: str | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [_safeguard(), "serve", "--port", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the service exited with {self.process.returncode}:\n{self._log()}")
            try:
                status, _ = self.request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the service did not come up within 30 s:\n{self._log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            assert self.process.returncode == -signal.SIGKILL
        self.process = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            payload = json.dumps(body) if body is not None else None
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def _log(self) -> str:
        return self.log.read_text(errors="replace")


def _run(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [_safeguard(), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


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
            {"process_key": "three_steps", "business_key": "child-9", "variables": {"n": 1}},
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
        assert after["variables"] == {"n": 1}
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
