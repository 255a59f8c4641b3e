"""The benchmark's HTTP client: one keep-alive connection per simulated practitioner, signing in,
starting and completing, with per-route timings (``Stats``). Used by ``benchmarks/api.py``."""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "bench-password-not-secret"
START = "POST /api/process-instances"


class HttpError(RuntimeError):
    """A non-2xx answer (already counted in ``Stats.errors``)."""


@dataclass
class Stats:
    """What the client threads saw; one lock around all of it (appends are cheap)."""

    measuring: bool = False
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    completed: int = 0
    failed: dict[str, int] = field(default_factory=lambda: {"warm-up": 0, "measured": 0})
    cpu: tuple[float, float] = (float("nan"), float("nan"))  # service, clients (seconds)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, seconds: float) -> None:
        if self.measuring:
            with self.lock:
                self.latencies[route].append(seconds)


class Client:
    """One user on one keep-alive connection."""

    def __init__(self, port: int, stats: Stats, path: Any):
        """``path``: which diagram and answers (``api.Path_``)."""
        self.port, self.stats, self.token, self.path = port, stats, None, path
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method: str, path: str, route: str, body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, OSError) as err:
                self.connection.close()  # the server closed the keep-alive connection: reconnect
                if attempt == 2:
                    raise RuntimeError(f"{route}: {err!r}") from err
        self.stats.record(route, time.perf_counter() - started)
        answer = json.loads(raw) if raw else None
        if not 200 <= response.status < 300:
            with self.stats.lock:
                self.stats.errors.append(f"{route} -> {response.status} {raw[:300]!r}")
            raise HttpError(f"{route} -> {response.status}")
        return answer

    def sign_in(self, username: str) -> None:
        body = {"username": username, "password": PASSWORD}
        self.token = self.call("POST", "/api/auth/token", "POST /api/auth/token", body)["token"]

    def start(self) -> dict:
        key = f"child-{uuid.uuid4().hex[:12]}"
        body = {"process_key": self.path.process_key, "business_key": key}
        return self.call("POST", "/api/process-instances", START, body)

    def run_instance(self) -> None:
        instance = self.start()
        for element_id, data in self.path.answers:
            [task] = instance["active_tasks"]
            if task["element_id"] != element_id:
                raise RuntimeError(f"expected {element_id}, got {task['element_id']}")
            route = f"POST /api/tasks/{{id}}/complete [{element_id}]"
            instance = self.call("POST", f"/api/tasks/{task['id']}/complete", route, {"data": data})
        if instance["state"] != "completed" or instance["active_tasks"]:
            raise RuntimeError(f"instance {instance['id']} ended {instance['state']}")
        wrong = self.path.check(instance)
        if wrong:
            raise RuntimeError(f"instance {instance['id']} {wrong}")

    def read(self, count: int) -> None:
        """``count`` task reads and worklists, on tasks of instances started first."""
        tasks = self.tasks = getattr(self, "tasks", None) or [
            self.start()["active_tasks"][0]["id"] for _ in range(5)
        ]
        for i in range(count):
            self.call("GET", f"/api/tasks/{tasks[i % len(tasks)]}", "GET /api/tasks/{id}")
            self.call("GET", "/api/tasks?view=mine", "GET /api/tasks")
