"""The real service as a child process: ``safeguard serve`` (waitress) or gunicorn with the
production settings (``service/gunicorn_conf.py``), spoken to over HTTP only.

Used by the restart test and the fault tests: they start it, kill it with SIGKILL (the whole
process group: gunicorn's master and workers die together, as in a power cut) and start it
again on the same port and database.
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

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    """An installed command of this environment (``safeguard``, ``gunicorn``)."""
    candidates = (ROOT / ".venv" / "bin" / name, Path(sys.executable).parent / name)
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    pytest.fail(f"the {name} command is not installed (pip install -e .)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(env: dict, *args: str, stdin: str | None = None) -> str:
    """``safeguard ARGS``; fails the test unless it exits 0; what it printed."""
    result = subprocess.run(
        [tool("safeguard"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _running_in_group(group: int) -> bool:
    """Whether a process of process group ``group`` is still running (not a zombie)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False


class Service:
    """The service as a child process (its own session, so a kill takes all of it)."""

    def __init__(self, env: dict, log: Path, server: str = "waitress", workers: int = 4):
        self.env, self.log, self.server = env, log, server
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port), "WEB_WORKERS": str(workers)}
        self.process: subprocess.Popen | None = None
        self.token: str | None = None

    def command(self) -> list[str]:
        if self.server == "gunicorn":
            return [tool("gunicorn"), "-c", "python:service.gunicorn_conf"]
        return [tool("safeguard"), "serve", "--port", str(self.port)]

    def start(self, timeout: float = 30) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the service exited with {self.process.returncode}:\n{self.text()}")
            try:
                status, _ = self.request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"the service did not come up within {timeout} s:\n{self.text()}")

    def kill(self) -> None:
        """SIGKILL to every process of the service: no shutdown hooks, no flushing."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            assert self.process.returncode == -signal.SIGKILL
        self._reap_group()
        self.process = None

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reap_group()
        self.process = None
        return code

    def _reap_group(self) -> None:
        # Workers orphaned by a killed master die with the group; wait until none is running
        # (their zombies may linger until whoever adopted them reaps them: those do not count).
        if self.process is None:
            return
        deadline = time.monotonic() + 10
        while _running_in_group(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        token: str | None = None,
        headers: dict | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict]:
        """One request on a fresh connection; (status, JSON answer). Raises ``OSError`` (or
        ``http.client.HTTPException``) when the service is not there or dies meanwhile."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = {"Content-Type": "application/json"} if body is not None else {}
            if token or self.token:
                sent["Authorization"] = f"Bearer {token or self.token}"
            sent.update(headers or {})
            payload = json.dumps(body) if body is not None else None
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def text(self) -> str:
        return self.log.read_text(errors="replace")
