"""Instances per second: bare SpiffWorkflow against the engine layer persisting to a database.

Every variant runs the same instances of ``tests/fixtures/three_steps.bpmn`` (start, then complete
describe -> review -> act) with the same sandboxed script engine:

(a) bare: SpiffWorkflow alone; after the start and after each completion the whole workflow is
    serialised with the library's default Camunda serializer, and deserialised again before the
    next step (a loop that re-reads and re-writes the full state every step, with no database);
(b) engine + SQLite: ``workflows.instances.Engine`` with one unit of work and commit per step, on a
    fresh SQLite file migrated with Alembic;
(c) engine + PostgreSQL: the same on a scratch database ``bench_<random>``, dropped at the end.

Usage: ``.venv/bin/python benchmarks/engine.py [--instances N] [--warmup W] [--repeat R]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import sqlalchemy
from floor import durable_step_ms  # benchmarks/floor.py, next to this file
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import TaskState
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage import UnitOfWork, make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import ProcessInstance
from workflows.instances import Engine
from workflows.parsing import SafeguardParser, parse_xml
from workflows.sandbox import make_script_engine
from workflows.serialization import StateSerializer

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "tests" / "fixtures" / "three_steps.bpmn"
PROCESS_KEY = "three_steps"
PATH = [
    ("describe", {"concern": "x", "severity": 8}),
    ("review", {"approved": True}),
    ("act", {"action_taken": "y"}),
]
PG_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COMMIT_PROBES = 500
STEPS = 1 + len(PATH)  # durable saves per instance: the start and each completion


@dataclass
class Result:
    name: str
    rates: list[float] = field(default_factory=list)  # instances/second, one per repeat
    state_sizes: list[int] = field(default_factory=list)  # characters, one per saved state

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


# -- (a) bare SpiffWorkflow ----------------------------------------------------------------------
def bare_runner(
    diagram: Path = DIAGRAM,
    process_key: str = PROCESS_KEY,
    path: list[tuple[str, dict]] = PATH,
    save: str = "full",
) -> Callable[[list[int] | None], None]:
    """Parse once; return a function running one instance, recording each state's size.

    By default ``three_steps`` along ``PATH``; ``benchmarks/api.py`` passes another diagram and
    the answers of its path (one ready user task at a time). ``save``: ``"full"`` is variant
    (a); ``"state"`` only serialises each step's state as the engine stores it (spec by
    reference), and ``"none"`` nothing — the work no way of persisting can avoid.
    """
    parser = SafeguardParser()
    parser.add_bpmn_xml(parse_xml(diagram.read_bytes()).getroot(), diagram.name)
    spec, subprocess_specs = parser.get_spec(process_key), parser.get_subprocess_specs(process_key)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(CAMUNDA_CONFIG))
    dumps = {
        "full": serializer.serialize_json,
        "state": StateSerializer(lambda ref: (spec, subprocess_specs)).dumps,
        "none": lambda workflow: "",
    }[save]
    script_engine = make_script_engine()

    def run_one(sizes: list[int] | None) -> None:
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        workflow.spec_ref = process_key
        workflow.do_engine_steps()
        state = dumps(workflow)
        for element_id, data in path:
            if sizes is not None:
                sizes.append(len(state))
            if save == "full":
                workflow = serializer.deserialize_json(state)
                workflow.script_engine = script_engine  # not serialised: restore the sandbox
            (task,) = workflow.get_tasks(state=TaskState.READY, manual=True)
            assert task.task_spec.bpmn_id == element_id, task.task_spec.bpmn_id
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
            state = dumps(workflow)
        if sizes is not None:
            sizes.append(len(state))
        assert workflow.is_completed()

    return run_one


# -- (b), (c) the engine layer with persistence ---------------------------------------------------
def engine_runner(session_factory: sessionmaker[Session]) -> Callable[[list[int] | None], None]:
    """Deploy once; return a function running one instance, one unit of work per step."""
    engine = Engine()
    with UnitOfWork(session_factory) as uow:
        engine.deploy(uow, DIAGRAM.read_bytes(), DIAGRAM.name, deployed_by="bench")
        uow.commit()

    def state_size(instance_id: str) -> int:
        """The saved state's length (the advance carries no state: read it, untimed)."""
        with UnitOfWork(session_factory) as uow:
            query = select(ProcessInstance.state).where(ProcessInstance.id == instance_id)
            return len(uow.session.scalar(query))

    def run_one(sizes: list[int] | None) -> None:
        with UnitOfWork(session_factory) as uow:
            advance = engine.start(uow, PROCESS_KEY)
            uow.commit()
        for element_id, data in PATH:
            if sizes is not None:
                sizes.append(state_size(advance.instance.id))
            (task,) = advance.opened  # the task id a client gets in the API response
            assert task.element_id == element_id, task.element_id
            with UnitOfWork(session_factory) as uow:
                advance = engine.complete_task(uow, task.id, data, user="bench")
                uow.commit()
        if sizes is not None:
            sizes.append(state_size(advance.instance.id))
        assert advance.ended and advance.instance.status == "completed", advance.instance.status

    return run_one


def measure(
    name: str, run_one: Callable[[list[int] | None], None], args: argparse.Namespace
) -> Result:
    return measure_all([(name, run_one)], args)[0]


def measure_all(
    variants: list[tuple[str, Callable[[list[int] | None], None]]], args: argparse.Namespace
) -> list[Result]:
    """Time each variant ``args.repeat`` times, taking turns run by run.

    The machine is shared and its speed drifts over a minute; taking turns lets the drift hit
    every variant alike instead of whichever happened to run last.
    """
    results = [Result(name) for name, _ in variants]
    for _, run_one in variants:
        for _ in range(args.warmup):
            run_one(None)
    for _ in range(args.repeat):
        for result, (_, run_one) in zip(results, variants, strict=True):
            started = time.perf_counter()
            for _ in range(args.instances):
                run_one(result.state_sizes)
            result.rates.append(args.instances / (time.perf_counter() - started))
    return results


def commit_latency(db: sqlalchemy.Engine) -> tuple[float, float]:
    """Milliseconds per tiny INSERT + COMMIT transaction, and per read-only SELECT 1 + COMMIT one.

    The difference is roughly what making a write durable costs (WAL write and flush).
    """
    with db.begin() as connection:
        connection.execute(text("CREATE TABLE bench_commit (id INTEGER PRIMARY KEY, v TEXT)"))

    def per_transaction(statement: str) -> float:
        started = time.perf_counter()
        with db.connect() as connection:
            for i in range(COMMIT_PROBES):
                connection.execute(text(statement), {"i": i})
                connection.commit()
        return (time.perf_counter() - started) / COMMIT_PROBES * 1000

    try:
        read = per_transaction("SELECT 1 WHERE :i >= 0")
        write = per_transaction("INSERT INTO bench_commit VALUES (:i, 'x')")
    finally:
        with db.begin() as connection:
            connection.execute(text("DROP TABLE bench_commit"))
    return write, read


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench_") as directory:
        yield f"sqlite:///{directory}/bench.db"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A scratch database ``bench_<random>``, dropped afterwards."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def migrated(url: str) -> Iterator[sqlalchemy.Engine]:
    upgrade(url)
    db = make_engine(url)
    try:
        yield db
    finally:
        db.dispose()


def postgres_server(admin_url: str) -> dict[str, str] | None:
    """Server version and durability settings, or None when PostgreSQL is not reachable."""
    admin = create_engine(admin_url, connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as connection:
            settings = ("server_version", "fsync", "synchronous_commit", "wal_sync_method")
            return {s: connection.execute(text(f"SHOW {s}")).scalar_one() for s in settings}
    except sqlalchemy.exc.OperationalError as err:
        print(f"PostgreSQL not reachable at {admin_url}: {str(err.orig).strip().splitlines()[0]}")
        return None
    finally:
        admin.dispose()


# -- report ------------------------------------------------------------------------------------
def print_environment(pg: dict[str, str] | None) -> None:
    print(f"{'Python':<15}{platform.python_version()} ({platform.python_implementation()})")
    print(f"{'SpiffWorkflow':<15}{version('SpiffWorkflow')}")
    print(f"{'SQLAlchemy':<15}{sqlalchemy.__version__}")
    print(f"{'SQLite':<15}{sqlite3.sqlite_version} (WAL, synchronous=NORMAL)")
    if pg:
        durability = ", ".join(f"{k}={v}" for k, v in pg.items() if k != "server_version")
        print(f"{'PostgreSQL':<15}{pg['server_version']} ({durability})")
    else:
        print(f"{'PostgreSQL':<15}not reachable")
    print(f"{'Machine':<15}{os.cpu_count()} CPUs, {platform.platform()}")


def print_results(
    results: list[Result], latencies: dict[str, tuple[float, float]], args: argparse.Namespace
) -> None:
    print(
        f"\n{args.instances} instances x {args.repeat} runs after {args.warmup} warm-up "
        "instances; an instance = start + 3 user tasks (4 saved states)"
    )
    print(f"{'variant':<24}{'best inst/s':>12}{'median':>10}{'avg state chars':>17}")
    for result in results:
        size = statistics.fmean(result.state_sizes)
        print(f"{result.name:<24}{result.best:>12.1f}{result.median:>10.1f}{size:>17,.0f}")
    bare = results[0]
    for result in results[1:]:
        label = f"{result.name.split()[0]}/{bare.name.split()[0]}"
        print(
            f"ratio {label}: best {result.best / bare.best:.2f}, "
            f"median {result.median / bare.median:.2f}"
        )
    for name, (write, read) in latencies.items():
        print(
            f"commit latency {name}: {write:.3f} ms per INSERT+COMMIT, {read:.3f} ms per "
            f"read-only SELECT+COMMIT ({COMMIT_PROBES} each; difference {write - read:.3f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300, help="instances per timed run")
    parser.add_argument("--warmup", type=int, default=20, help="instances run first, not timed")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per variant")
    parser.add_argument("--postgres-url", default=PG_ADMIN_URL, help="admin URL for (c)")
    args = parser.parse_args()

    pg = postgres_server(args.postgres_url)
    print_environment(pg)
    variants = [
        ("(a) bare SpiffWorkflow", bare_runner()),
        ("SpiffWorkflow + saving the state", bare_runner(save="state")),
    ]
    with ExitStack() as stack:
        databases = {
            "SQLite": stack.enter_context(migrated(stack.enter_context(sqlite_database())))
        }
        variants.append(
            ("(b) engine + SQLite", engine_runner(make_session_factory(databases["SQLite"])))
        )
        if pg is None:
            print("(c) skipped: PostgreSQL is not reachable")
        else:
            url = stack.enter_context(postgres_database(args.postgres_url))
            databases["PostgreSQL"] = stack.enter_context(migrated(url))
            factory = make_session_factory(databases["PostgreSQL"])
            variants.append(("(c) engine + PostgreSQL", engine_runner(factory)))
        results = measure_all(variants, args)
        latencies = {name: commit_latency(db) for name, db in databases.items()}
        floor = durable_step_ms(databases["PostgreSQL"]) if pg is not None else None
    alone = results.pop(1)
    print_results(results, latencies, args)
    print_bound(results[0], alone, floor)


def print_bound(bare: Result, alone: Result, floor: float | None) -> None:
    """What the persisted path could reach at best: the unavoidable work plus durable steps."""
    work = 1000 / alone.median
    print(
        f"SpiffWorkflow + serialising each step's state (no database, no reload): "
        f"{alone.median:.1f} inst/s ({work:.3f} ms each)"
    )
    if floor is None:
        return
    best = 1000 / (work + STEPS * floor)
    print(
        f"PostgreSQL floor per durable step (writes pipelined, then COMMIT; psycopg alone): "
        f"{floor:.3f} ms; with {STEPS} steps per instance (c) can reach at most "
        f"{best:.1f} inst/s, (c)/(a) <= {best / bare.median:.2f}"
    )


if __name__ == "__main__":
    main()
