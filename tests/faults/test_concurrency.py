"""Fifty people acting on the same tasks at the same moment: one wins, every loser hears 409.

The Flask app on a real database (SQLite and PostgreSQL), fifty threads, each signed in as its own
person, each with its own client. They claim, give back, reassign and complete the same few
tasks, every change conditional on the version the person last read (``If-Match``). What a user
would notice if the service got it wrong: a 500 or a 423 instead of "someone else changed it",
a change acknowledged and then lost, a task done twice, a request that never comes back.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from service.app import create_app
from service.context import services
from storage import UnitOfWork
from storage.models import Task
from tests.support.helpers import admin_client, deploy_xml, make_user, token_client

PEOPLE = 50
SEED = 20261130


@pytest.fixture
def app(db_url):
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield app
    app.extensions["safeguard"].db.dispose()


@pytest.fixture
def clients(app) -> dict[str, object]:
    """Fifty practitioners who are also managers (so they may reassign), all of one agency.

    A loser who can no longer see the task (someone else holds it now, and they never did)
    hears 404, exactly as for a task that does not exist; one who still sees it hears 409."""
    names = [f"p{i:02d}" for i in range(PEOPLE)]
    for name in names:
        make_user(app, name, ["practitioner", "manager"], agency="school")
    assert deploy_xml(admin_client(app)).status_code == 201
    return {name: token_client(app, name) for name in names}


def _start_cases(app, starter, count: int, people) -> list[str]:
    """``count`` instances of three_steps."""
    task_ids = []
    for n in range(count):
        response = starter.post(
            "/api/process-instances",
            json={"process_key": "three_steps", "business_key": f"child-{n}"},
        )
        assert response.status_code == 201, response.get_json()
        [task] = response.get_json()["active_tasks"]
        task_ids.append(task["id"])
    return task_ids


def _race(workers: list) -> None:
    """Run every callable in its own thread, released together; none may hang."""
    barrier = threading.Barrier(len(workers), timeout=60)
    failures: list[BaseException] = []

    def run(work) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as err:  # a thread's failure must fail the test
            failures.append(err)

    threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    stuck = [t for t in threads if t.is_alive()]
    assert not stuck, f"{len(stuck)} requests never came back (deadlock?)"
    if failures:
        raise failures[0]


def _row(app, task_id: str) -> Task:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        return uow.session.get(Task, task_id)


def _open_tasks(app, element_id: str) -> list[Task]:
    with app.app_context(), UnitOfWork(services().session_factory) as uow:
        return list(
            uow.session.scalars(
                select(Task).where(Task.element_id == element_id, Task.status == "open")
            )
        )


def test_fifty_claims_of_one_task_one_wins_and_forty_nine_hear_409(app, clients):
    [task_id] = _start_cases(app, clients["p00"], 1, clients)
    answers: dict[str, tuple[int, dict]] = {}

    def claim(name):
        def work() -> None:
            response = clients[name].post(f"/api/tasks/{task_id}/claim")
            answers[name] = (response.status_code, response.get_json())

        return work

    _race([claim(name) for name in clients])
    statuses = Counter(status for status, _ in answers.values())
    assert statuses[200] == 1 and statuses[409] + statuses[404] == PEOPLE - 1, statuses
    [winner] = [name for name, (status, _) in answers.items() if status == 200]
    assert answers[winner][1]["assignee"] == winner
    assert _row(app, task_id).assignee == winner
    codes = {status: body["error"]["code"] for status, body in answers.values() if status != 200}
    assert set(codes.items()) <= {(409, "conflict"), (404, "not_found")}


def test_fifty_completions_of_one_task_advance_the_case_once(app, clients):
    [task_id] = _start_cases(app, clients["p00"], 1, clients)
    answers: dict[str, int] = {}

    def complete(name):
        def work() -> None:
            data = {"concern": f"seen by {name}", "severity": 8}
            response = clients[name].post(f"/api/tasks/{task_id}/complete", json={"data": data})
            answers[name] = response.status_code

        return work

    _race([complete(name) for name in clients])
    assert Counter(answers.values()) == {200: 1, 409: PEOPLE - 1}, Counter(answers.values())
    [winner] = [name for name, status in answers.items() if status == 200]
    row = _row(app, task_id)
    assert (row.status, row.completed_by) == ("completed", winner)
    assert row.data["concern"] == f"seen by {winner}"
    assert len(_open_tasks(app, "review")) == 1  # the case moved on once, not fifty times


@dataclass
class Outcome:
    person: str
    action: str
    task_id: str
    read_version: int
    status: int
    version: int | None  # the version the answer reports (a change that took)


def test_fifty_people_claiming_reassigning_and_completing_lose_no_update(app, clients):
    """Each person reads a task, then claims, gives back, reassigns or completes it on the
    version read. Every change acknowledged must be in the history; every refusal is a 409
    (or a 404 for a task the person may no longer see)."""
    task_ids = _start_cases(app, clients["p00"], 5, clients)
    names = sorted(clients)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def person(name: str, rng: random.Random):
        client = clients[name]

        def work() -> None:
            for _ in range(6):
                task_id = rng.choice(task_ids)
                read = client.get(f"/api/tasks/{task_id}")
                assert read.status_code in (200, 404), read.get_json()
                task = read.get_json()
                if read.status_code == 404 or task["status"] != "open":
                    continue  # held by someone else now, or done: not this person's to act on
                version = task["version"]
                headers = {"If-Match": str(version)}
                action = rng.choice(["claim", "unclaim", "assign", "complete"])
                if action == "unclaim" and task["assignee"] != name:
                    action = "claim"
                if action == "claim" and task["assignee"] == name:
                    action = "unclaim"
                url = f"/api/tasks/{task_id}/{action}"
                if action == "assign":
                    body = {"user": rng.choice(names)}
                elif action == "complete":
                    body = {"data": {"concern": f"done by {name}", "severity": 2}}
                else:
                    body = None
                response = client.post(url, json=body, headers=headers)
                answer = response.get_json()
                changed = answer.get("version") if response.status_code == 200 else None
                with lock:
                    outcomes.append(
                        Outcome(name, action, task_id, version, response.status_code, changed)
                    )

        return work

    rng = random.Random(SEED)
    _race([person(name, random.Random(rng.random())) for name in names])

    statuses = Counter(o.status for o in outcomes)
    assert set(statuses) <= {200, 404, 409}, statuses
    assert statuses[409] > 0 and statuses[200] > 0, statuses  # it really was a race

    by_task: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_task[outcome.task_id].append(outcome)
    for task_id, seen in by_task.items():
        row = _row(app, task_id)
        won = [o for o in seen if o.status == 200]
        done = [o for o in won if o.action == "complete"]
        assert len(done) <= 1, f"task {task_id} completed {len(done)} times"
        if done:
            assert (row.status, row.completed_by) == ("completed", done[0].person)
        changes = [o for o in won if o.action != "complete"]
        # No lost update: each acknowledged change was made on a different version, so the
        # changes form one chain, and the row's version counts every one of them.
        reads = [o.read_version for o in won]
        assert len(set(reads)) == len(reads), f"two changes of task {task_id} on one version: {won}"
        assert row.version == 1 + len(changes) + len(done), (row.version, seen)
        for change in changes:
            assert change.version == change.read_version + 1
        if not done and changes:
            last = max(changes, key=lambda o: o.read_version)
            expected = None if last.action == "unclaim" else row.assignee
            assert row.assignee == expected
    # Every completed describe step opened exactly one review step of its case.
    completed = sum(1 for t in task_ids if _row(app, t).status == "completed")
    assert len(_open_tasks(app, "review")) == completed
