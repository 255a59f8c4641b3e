"""Seed a database for the worklist-at-scale benchmark: 100 000 open cases, 1 000 000 task rows.

Why rows are copied rather than run through the engine: a million tasks through the API would
take hours on this machine. One real instance of ``information_sharing`` is started with the
engine; its instance row is the template for every case (its state with the open task's id
replaced by the new task's id, so each seeded case deserialises and can continue at that task),
and its open task row is the template for the task rows. Per case: one open task (half assigned
to a practitioner, half waiting for a candidate role), nine completed tasks of its history, one
candidate row per task and two or three case parties. 2 000 practitioners in 10 agencies, 200
managers with 10 practitioners each, 50 DSLs.

Loaded with PostgreSQL ``COPY`` or SQLite ``executemany`` in batches. Deterministic (seeded RNG).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from storage import UnitOfWork, make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import ProcessInstance, Task
from workflows.instances import Engine

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "bpmn" / "information_sharing.bpmn"
AGENCIES = [f"agency{i}" for i in range(10)]
PRACTITIONERS = [f"prac{i:04d}" for i in range(2000)]
MANAGERS = [f"mgr{i:03d}" for i in range(200)]
DSLS = [f"dsl{i:02d}" for i in range(50)]
HISTORY = ["describe_request", "safeguarding_check", "seek_consent", "share_information"]
OPEN_ROLES = ["practitioner", "practitioner", "dsl", "manager"]


def agency_of(username: str) -> str:
    digits = "".join(c for c in username if c.isdigit())
    return AGENCIES[int(digits) % len(AGENCIES)]


def template(url: str) -> tuple[dict, dict]:
    """Start one real instance; its instance row and open task row as dicts of column values."""
    db = make_engine(url)
    factory = make_session_factory(db)
    engine = Engine()
    with UnitOfWork(factory) as uow:
        engine.deploy(uow, DIAGRAM.read_bytes(), DIAGRAM.name, "seed")
        uow.commit()
    with UnitOfWork(factory) as uow:
        advance = engine.start(uow, "information_sharing", business_key="template", started_by="x")
        uow.commit()
    with db.connect() as connection:
        instance = connection.execute(select(ProcessInstance.__table__)).mappings().one()
        task = connection.execute(select(Task.__table__)).mappings().one()
        for table in ("task_candidate", "timer", "task", "process_instance"):
            connection.execute(text(f"DELETE FROM {table}"))  # the template's own rows
        connection.commit()
    db.dispose()
    del advance
    return dict(instance), dict(task)


def generate(instance: dict, task: dict, cases: int, tasks_per_case: int) -> dict[str, list]:
    """Rows per table, as lists of dicts (keys = column names)."""
    rng = random.Random(8)
    now = datetime.now(UTC)
    rows: dict[str, list] = {"app_user": [], "process_instance": [], "task": []}
    # task_candidate rows come from a trigger on task (migration 0010); who is a party is read
    # off the instance and task rows (tasks/parties.py), so nothing else needs writing.
    for name in MANAGERS:
        rows["app_user"].append(_user(name, ["manager"], now, None))
    manager_ids = [u["id"] for u in rows["app_user"]]
    for i, name in enumerate(PRACTITIONERS):
        rows["app_user"].append(_user(name, ["practitioner"], now, manager_ids[i // 10]))
    for name in DSLS:
        rows["app_user"].append(_user(name, ["dsl"], now, None))
    old_task_id = task["id"]
    for n in range(cases):
        instance_id, key = str(uuid.uuid4()), f"child-{n:06d}"
        starter = rng.choice(PRACTITIONERS)
        started = now - timedelta(days=rng.randint(1, 400))
        open_id = str(uuid.uuid4())
        rows["process_instance"].append(
            instance
            | {
                "id": instance_id,
                "business_key": key,
                "started_by": starter,
                "started_at": started,
                "updated_at": started,
                "state": instance["state"].replace(old_task_id, open_id),
            }
        )
        assignee = starter if rng.random() < 0.5 else None
        role = "practitioner" if assignee else rng.choice(OPEN_ROLES)
        due = now + timedelta(hours=rng.randint(-200, 400)) if rng.random() < 0.9 else None
        rows["task"].append(
            task
            | {
                "id": open_id,
                "instance_id": instance_id,
                "assignee": assignee,
                "candidate_roles": [role],
                "created_at": started,
                "due_at": due,
            }
        )
        for h in range(tasks_per_case - 1):
            done_by = starter if h % 3 else rng.choice(PRACTITIONERS)
            task_id = str(uuid.uuid4())
            rows["task"].append(
                task
                | {
                    "id": task_id,
                    "instance_id": instance_id,
                    "element_id": HISTORY[h % len(HISTORY)],
                    "status": "completed",
                    "assignee": done_by,
                    "created_at": started,
                    "due_at": started + timedelta(days=1),
                    "completed_at": started + timedelta(hours=h + 1),
                    "completed_by": done_by,
                    "candidate_roles": ["practitioner"],
                }
            )
    return rows


def _user(name: str, roles: list[str], now: datetime, manager_id: str | None) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "username": name,
        "display_name": name,
        "email": None,
        "agency": agency_of(name),
        "roles": roles,
        "manager_id": manager_id,
        "password_hash": None,
        "active": True,
        "created_at": now,
        "failed_logins": 0,
        "last_failed_at": None,
        "locked_until": None,
    }


def _plain(value, dialect: str):
    """A DBAPI value for COPY (PostgreSQL) or executemany (SQLite)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, datetime) and dialect == "sqlite":
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, bool) and dialect == "sqlite":
        return int(value)
    return value


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load(url: str, rows: dict[str, list]) -> None:
    db = make_engine(url)
    dialect = db.dialect.name
    raw = db.raw_connection()
    try:
        cursor = raw.cursor()
        if dialect == "sqlite":  # index pages of random UUID keys: keep them in memory (1 GB)
            cursor.execute("PRAGMA cache_size = -1000000")
        for table, items in rows.items():
            columns = list(items[0])
            if dialect == "postgresql":
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for item in items:
                        copy.write_row([_plain(item[c], dialect) for c in columns])
            else:
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                for batch in _batches(items, 50_000):
                    values = [[_plain(i[c], dialect) for c in columns] for i in batch]
                    cursor.executemany(sql, values)
            raw.commit()
        if dialect == "postgresql":
            raw.commit()
            raw.driver_connection.autocommit = True
            raw.cursor().execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
        db.dispose()


def seed(url: str, cases: int = 100_000, tasks_per_case: int = 10) -> dict[str, int]:
    """Migrate, then load; row counts per table."""
    started = time.perf_counter()
    upgrade(url)
    instance, task = template(url)
    rows = generate(instance, task, cases, tasks_per_case)
    generated = time.perf_counter()
    load(url, rows)
    counts = {table: len(items) for table, items in rows.items()}
    print(
        f"seeded {counts} in {time.perf_counter() - started:.0f} s "
        f"(generating {generated - started:.0f} s); state {len(instance['state'])} chars"
    )
    return counts
