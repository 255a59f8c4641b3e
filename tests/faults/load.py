"""Casework against a service that may die at any moment, and a journal of what it answered.

Each :class:`Worker` is one practitioner on their own thread, doing what practitioners do: start
an ``information_sharing`` decision and answer its steps to the end, or start a ``quick_steps``
check and either do it at once or leave it for the timers. Every answer is written down:

- a 2xx is a promise: the journal keeps what was promised (the instance started, the task done
  with these answers) for the checks to find in the database afterwards;
- a request that never got an answer (the service was killed under it) has an unknown outcome: it
  may or may not have been kept. A completion is sent again once the service is back — either
  it was kept and the repeat hears 409, or it was not and the repeat does it — so no step is lost
  and none can be done twice. A start is not repeated (that would be a second case).
"""

from __future__ import annotations

import http.client
import importlib.util
import random
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.live import Service

_answers = importlib.util.spec_from_file_location(
    "answers", Path(__file__).resolve().parents[2] / "benchmarks" / "answers.py"
)
_module = importlib.util.module_from_spec(_answers)
_answers.loader.exec_module(_module)
# information_sharing, "share with consent": {element id: answers} (benchmarks/answers.py).
SHARING_ANSWERS: dict[str, dict] = dict(_module.ANSWERS)
ANSWERS = {**SHARING_ANSWERS, "check": {"note": "record checked"}, "chase": {"chased": True}}


class Lost(Exception):
    """The service went away before answering."""


@dataclass
class Journal:
    """What the service promised (2xx), what it refused, and what it never answered."""

    started: dict[str, tuple[str, str]] = field(default_factory=dict)  # id: (user, key)
    completed: dict[str, tuple[str, dict]] = field(default_factory=dict)  # task: (user, data)
    claimed: dict[str, str] = field(default_factory=dict)  # task id: user
    conflicts: int = 0
    unanswered: int = 0
    unexpected: list[str] = field(default_factory=list)  # anything but 2xx/409
    twice: list[str] = field(default_factory=list)  # tasks acknowledged as completed twice
    lock: threading.Lock = field(default_factory=threading.Lock)


class Worker(threading.Thread):
    def __init__(
        self,
        service: Service,
        username: str,
        token: str,
        journal: Journal,
        seed: int,
        up: threading.Event,
        stop: threading.Event,
    ):
        super().__init__(name=f"load-{username}", daemon=True)
        self.service, self.username, self.token = service, username, token
        self.journal, self.rng, self.up, self.stop = journal, random.Random(seed), up, stop
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                if self.rng.random() < 0.5:
                    self.share_decision()
                else:
                    self.quick_check()
        except BaseException as err:  # reported by the test
            self.error = err

    # -- casework ------------------------------------------------------------------------------
    def share_decision(self) -> None:
        instance = self.start_case("information_sharing")
        while instance is not None and instance["state"] == "running" and not self.stop.is_set():
            [task] = instance["active_tasks"]
            instance = self.complete(task["id"], ANSWERS[task["element_id"]])

    def quick_check(self) -> None:
        instance = self.start_case("quick_steps")
        if instance is None or self.rng.random() < 0.5:
            return  # left for the reminders, the escalation and the BPMN timer
        [task] = instance["active_tasks"]
        if self.call("POST", f"/api/tasks/{task['id']}/claim", retry=True) is not None:
            with self.journal.lock:
                self.journal.claimed[task["id"]] = self.username
            self.complete(task["id"], ANSWERS["check"])

    def start_case(self, key: str) -> dict | None:
        business_key = f"child-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:12]}"
        body = {"process_key": key, "business_key": business_key}
        instance = self.call("POST", "/api/process-instances", body, retry=False)
        if instance is not None:
            with self.journal.lock:
                self.journal.started[instance["id"]] = (self.username, business_key)
        return instance

    def complete(self, task_id: str, data: dict) -> dict | None:
        path = f"/api/tasks/{task_id}/complete"
        instance = self.call("POST", path, {"data": data}, retry=True)
        if instance is not None:
            with self.journal.lock:
                if task_id in self.journal.completed:
                    self.journal.twice.append(task_id)
                self.journal.completed[task_id] = (self.username, data)
        return instance

    # -- the wire ------------------------------------------------------------------------------
    def call(self, method: str, path: str, body: dict | None = None, retry: bool = False):
        """The answer of a 2xx; ``None`` for a 409 or a request whose outcome is unknown."""
        for _ in range(2):
            self.up.wait(timeout=60)
            try:
                status, answer = self.service.request(method, path, body, token=self.token)
            except (OSError, http.client.HTTPException):
                with self.journal.lock:
                    self.journal.unanswered += 1
                if not retry:
                    return None
                continue  # once the service is back: kept (409) or not (done now)
            if 200 <= status < 300:
                return answer
            with self.journal.lock:
                if status == 409:
                    self.journal.conflicts += 1
                else:
                    self.journal.unexpected.append(f"{method} {path} -> {status} {answer}")
            return None
        return None
