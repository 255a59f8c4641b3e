"""The crash soak's client (``benchmarks/crash_soak.py``): one user who starts instances and
completes their steps over HTTP, and a journal of every answer that promised something.

A request that gets no answer (the service was killed) raises :class:`ConnectionError`: the
client does not know whether it happened, so it reloads its instance once the service is back
(a completion) or forgets it (a start: the instance, if it was made, is finished at the end).
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from http_client import PASSWORD  # benchmarks/http_client.py: the users' password


@dataclass
class Journal:
    """Everything acknowledged (2xx), by whom; what went unanswered; what went wrong."""

    started: dict[str, str] = field(default_factory=dict)  # instance id -> user
    completed: dict[str, str] = field(default_factory=dict)  # task id -> user
    reads: int = 0  # worklist reads answered 200
    cut_off: int = 0  # requests sent and never answered
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acknowledged(self) -> int:
        return len(self.started) + len(self.completed) + self.reads

    def problem(self, what: str) -> None:
        with self.lock:
            self.problems.append(what)

    def summary(self) -> str:
        return (
            f"{len(self.started)} starts, {len(self.completed)} completions, {self.reads} reads "
            f"acknowledged; {self.cut_off} cut off; {len(self.problems)} problems"
        )


class SoakClient:
    """One signed-in user on one keep-alive connection (made again after a kill)."""

    def __init__(self, port: int, name: str, journal: Journal, fresh: bool = False):
        """``fresh``: a new connection per request (after the kills, where a keep-alive socket
        the server closed while idle must not look like a kill)."""
        self.port, self.name, self.journal, self.fresh = port, name, journal, fresh
        self.token: str | None = None
        self.current: dict | None = None  # the instance being worked on, as last answered
        self._connection: http.client.HTTPConnection | None = None
        self._connected_to = 0

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        """Status and JSON answer; :class:`ConnectionError` when there was no answer."""
        if self._connection is None or self._connected_to != self.port or self.fresh:
            if self._connection is not None:
                self._connection.close()
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self._connected_to = self.port
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            self._connection.request(method, path, json.dumps(body) if body else None, headers)
            response = self._connection.getresponse()
            raw = response.read()
        except ConnectionRefusedError as err:  # not even sent: the service is down
            self._connection.close()
            raise ConnectionError("refused") from err
        except (http.client.HTTPException, OSError) as err:
            self._connection.close()
            with self.journal.lock:
                self.journal.cut_off += 1
            raise ConnectionError(repr(err)) from err
        return response.status, json.loads(raw) if raw else None

    def sign_in(self) -> None:
        body = {"username": self.name, "password": PASSWORD}
        status, answer = self.call("POST", "/api/auth/token", body)
        if status != 200:
            raise RuntimeError(f"{self.name} could not sign in: {status} {answer}")
        self.token = answer["token"]

    def start(self, process_key: str) -> None:
        body = {"process_key": process_key, "business_key": f"soak-{uuid.uuid4().hex[:12]}"}
        status, answer = self.call("POST", "/api/process-instances", body)
        if status != 201:
            self.journal.problem(f"start {process_key} -> {status} {answer}")
            return
        with self.journal.lock:
            self.journal.started[answer["id"]] = self.name
        self.current = answer

    def read_worklist(self) -> None:
        status, answer = self.call("GET", "/api/tasks?view=mine")
        if status != 200:
            self.journal.problem(f"worklist -> {status} {answer}")
            return
        with self.journal.lock:
            self.journal.reads += 1

    def complete_next(self, steps: dict[str, dict]) -> None:
        """Complete the current instance's open step with its answers."""
        tasks = [t for t in self.current["active_tasks"] if t["element_id"] in steps]
        if not tasks:
            self.journal.problem(f"instance {self.current['id']} runs with no step to do")
            self.current = None
            return
        task = tasks[0]
        path = f"/api/tasks/{task['id']}/complete"
        status, answer = self.call("POST", path, {"data": steps[task["element_id"]]})
        if status == 409:  # kept by an earlier, unanswered attempt: see where it stands
            self.current = self.load(self.current["id"])
            return
        if status != 200:
            self.journal.problem(f"complete {task['element_id']} -> {status} {answer}")
            self.current = None
            return
        with self.journal.lock:
            self.journal.completed[task["id"]] = self.name
        self.current = answer if answer["state"] == "running" else None

    def load(self, instance_id: str) -> dict | None:
        """The instance as the API shows it, if it still runs; it must load."""
        status, answer = self.call("GET", f"/api/process-instances/{instance_id}")
        if status != 200:
            self.journal.problem(f"instance {instance_id} does not load: {status} {answer}")
            return None
        return answer if answer["state"] == "running" else None

    def resume(self) -> None:
        """After a request went unanswered: reload the instance being worked on."""
        if self.current is not None:
            with suppress(ConnectionError):  # not back yet: the next round tries again
                self.current = self.load(self.current["id"])
