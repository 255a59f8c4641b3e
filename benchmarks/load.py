"""Sustained load: 50 users on gunicorn (4 workers) through the full information-sharing path.

Why a second HTTP benchmark beside ``benchmarks/api.py``: that one measures one waitress process
against the bare engine; this one measures what a deployment would see - several gunicorn worker
processes on one database, many users each with their own token, for a fixed time rather than a
fixed count - so the figures answer "how many cases per second, and how long does a person wait".

For each database (SQLite temp file, and PostgreSQL when ``--postgres-url`` is given):
``safeguard db upgrade`` and ``safeguard deploy bpmn/information_sharing.bpmn`` on a scratch
database, ``--users`` practitioners, then ``gunicorn -w 4 -k gthread`` serving
``service.app:create_app()``. Each user thread signs in, runs one untimed instance, then for
``--duration`` seconds starts instances and completes every task along the "share with consent"
path (``benchmarks/answers.py``). Printed: instances/s, requests/s, p50/p95/p99 per request type,
errors and the service log above info level; on PostgreSQL also the lock waits seen in
``pg_locks`` (sampled every 20 ms: advisory locks, e.g. the audit chain's before issue 16, and
others, each waiter put down to the request path or to the sealer by its query).

``--sealer SECONDS`` serves as production does (``gunicorn -c service/gunicorn_conf.py``: every
worker runs its scheduler, which flushes queued reads and seals the audit trail and the sharing
register) with ``AUDIT_SEAL_SECONDS`` = SECONDS, and checks both chains after the run.

Usage: ``.venv/bin/python benchmarks/load.py [--users 50] [--duration 45] [--workers 4]
[--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--skip-sqlite] [--sealer 1]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path

import engine as engine_bench  # benchmarks/engine.py, next to this file
from answers import ANSWERS
from api import (  # benchmarks/api.py: the same users, diagram and log reading
    DIAGRAM,
    SHARING,
    add_users,
    cpu_seconds,
    percentiles,
    service_problems,
)
from http_client import START, Client, HttpError, Stats  # benchmarks/http_client.py
from serving import BIN, free_port, launch, safeguard, stop  # benchmarks/serving.py
from sqlalchemy import create_engine

ROUTES = [START] + [f"POST /api/tasks/{{id}}/complete [{e}]" for e, _ in ANSWERS]


def gunicorn(
    env: dict, workers: int, threads: int, log: Path, production: bool = False
) -> tuple[subprocess.Popen, int]:
    """The service under gunicorn: flags on the command line (no scheduler), or ``production``:
    the deployment's config file, each worker with its scheduler (timers, audit upkeep)."""
    port = free_port()
    if production:
        env = {**env, "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads), "PORT": str(port)}
        command = [str(BIN / "gunicorn"), "-c", "service/gunicorn_conf.py", "--timeout", "120"]
        return launch(command, env, log, port, wait=90), port
    command = [
        str(BIN / "gunicorn"),
        *("-w", str(workers), "-k", "gthread", "--threads", str(threads)),
        *("-b", f"127.0.0.1:{port}", "--no-control-socket", "--timeout", "120"),
        "service.app:create_app()",
    ]
    return launch(command, env, log, port, wait=90), port


def group_cpu(pid: int) -> float:
    """CPU seconds of the master and its live workers (children listed by /proc)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return cpu_seconds(pid) + sum(cpu_seconds(int(c)) for c in children)


def user_loop(client: Client, name: str, stop_at: list[float], barrier: threading.Barrier) -> None:
    """Sign in, one warm-up instance, wait for everybody, then run instances until the deadline."""
    stats = client.stats
    try:
        client.sign_in(name)
        client.run_instance()
    except RuntimeError as err:
        with stats.lock:
            stats.errors.append(f"{name} warm-up: {err}")
    barrier.wait()
    while client.token and time.perf_counter() < stop_at[0]:
        try:
            client.run_instance()
            ok = True
        except RuntimeError as err:
            ok = False
            if not isinstance(err, HttpError):
                with stats.lock:
                    stats.errors.append(f"instance went wrong: {err}")
        with stats.lock:
            if time.perf_counter() <= stop_at[0]:
                if ok:
                    stats.completed += 1
                else:
                    stats.failed["measured"] += 1
    client.connection.close()


# A waiter whose query is one of these is the sealer (or the read flusher), not a request.
SEALER_QUERIES = ("audit_seal", "UPDATE audit_event", "UPDATE sharing_record")


class LockSampler(threading.Thread):
    """Samples ``pg_locks`` every 20 ms during the run: how often a backend waited for an
    advisory lock, per key (7401001 the audit chain's before issue 16, 7401002 the sharing
    register's before this branch), or any other lock, by lock type and by who waited (the
    sealer's statements, or a request's)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        from sqlalchemy import create_engine

        self.engine = create_engine(url)
        self.samples = self.advisory_waits = self.other_waits = self.max_waiting = 0
        self.by_key: dict[int, int] = {}  # advisory waiters per lock key (objid)
        self.by_kind: dict[str, int] = {}  # every waiter by "who: lock type"
        self.queries: dict[str, int] = {}  # what the waiters were running (first 120 chars)
        self.running = True

    def run(self) -> None:
        from sqlalchemy import text

        query = text(
            "SELECT l.locktype, l.objid, a.query FROM pg_locks l "
            "LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted"
        )
        with self.engine.connect() as connection:
            while self.running:
                waiting = connection.execute(query).all()
                connection.commit()
                advisory = [int(objid) for kind, objid, _ in waiting if kind == "advisory"]
                self.samples += 1
                self.advisory_waits += len(advisory)
                self.other_waits += len(waiting) - len(advisory)
                self.max_waiting = max(self.max_waiting, len(advisory))
                for key in advisory:
                    self.by_key[key] = self.by_key.get(key, 0) + 1
                for kind, _, statement in waiting:
                    who = (
                        "sealer"
                        if any(q in (statement or "") for q in SEALER_QUERIES)
                        else "request"
                    )
                    self.by_kind[f"{who}: {kind}"] = self.by_kind.get(f"{who}: {kind}", 0) + 1
                    what = " ".join((statement or "?").split())[:120]
                    self.queries[what] = self.queries.get(what, 0) + 1
                time.sleep(0.02)
        self.engine.dispose()

    def summary(self) -> str:
        waited = "".join(f"\n    {n:>5} x {q}" for q, n in sorted(self.queries.items()))
        return (
            f"pg_locks: {self.samples} samples, advisory-lock waiters seen {self.advisory_waits}"
            f" (at most {self.max_waiting} at once; by key {self.by_key}),"
            f" other lock waiters {self.other_waits}; by who and lock type {self.by_kind}{waited}"
        )


def chains_after(url: str) -> str:
    """Both chains sealed up and checked, as ``safeguard audit seal`` / ``verify`` do."""
    env = {**os.environ, "DATABASE_URL": url}
    left = {}
    for chain, table in (("events", "audit_event"), ("entries", "sharing_record")):
        engine = create_engine(url)
        with engine.connect() as connection:
            left[chain] = connection.exec_driver_sql(
                f"SELECT COUNT(*) FILTER (WHERE seq IS NULL), COUNT(*) FROM {table}"
            ).one()
        engine.dispose()
    sealed = safeguard(env, "audit", "seal")
    verified = safeguard(env, "audit", "verify")
    unsealed = ", ".join(f"{chain} {n} of {total}" for chain, (n, total) in left.items())
    return f"unsealed at the end of the run: {unsealed}\n{sealed}\n{verified}"


def run_load(url: str, args, workdir: Path) -> tuple[Stats, float]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    safeguard(env, "db", "upgrade")
    safeguard(env, "deploy", str(DIAGRAM), "--by", "bench")
    names = add_users(url, args.users)
    log = workdir / "service.log"
    if args.sealer is not None:
        env["AUDIT_SEAL_SECONDS"] = str(args.sealer)
    process, port = gunicorn(env, args.workers, args.threads, log, args.sealer is not None)
    stats = Stats()
    stop_at = [float("inf")]
    barrier = threading.Barrier(args.users + 1)
    try:
        threads = [
            threading.Thread(
                target=user_loop,
                args=(Client(port, stats, SHARING), n, stop_at, barrier),
                daemon=True,
            )
            for n in names
        ]
        for thread in threads:
            thread.start()
        barrier.wait()  # everybody signed in and warmed up
        sampler = LockSampler(url) if url.startswith("postgresql") else None
        if sampler is not None:
            sampler.start()
        cpu = group_cpu(process.pid)
        started = time.perf_counter()
        stop_at[0] = started + args.duration
        stats.measuring = True
        time.sleep(args.duration)
        stats.cpu = (group_cpu(process.pid) - cpu, float("nan"))
        stats.measuring = False  # requests still in flight finish untimed
        if sampler is not None:
            sampler.running = False
            sampler.join()
            stats.locks = sampler.summary()
        for thread in threads:
            thread.join()
        wall = args.duration
    finally:
        stop(process)
    if args.sealer is not None:
        stats.chains = chains_after(url)
    problems = [line for line in service_problems(log) if "[INFO]" not in line]
    stats.errors.extend(f"service log: {line}" for line in problems[:20])
    return stats, wall


def report(label: str, stats: Stats, wall: float, args) -> list[str]:
    """Printed lines, and a Markdown table row per route for docs/performance.md."""
    requests = sum(len(v) for v in stats.latencies.values())
    rate = stats.completed / wall
    print(
        f"\n== {label}: {args.users} users, gunicorn -w {args.workers} -k gthread --threads "
        f"{args.threads}, {wall:.0f} s"
    )
    print(
        f"completed {stats.completed} instances: {rate:.1f} instances/s, "
        f"{requests / wall:.1f} requests/s; failed instances {stats.failed['measured']}; "
        f"service CPU {stats.cpu[0]:.1f} s of {wall * (os.cpu_count() or 1):.0f} available"
    )
    print(f"{'request type':<58}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    rows = []
    every = [v for values in stats.latencies.values() for v in values]
    for route, values in [(r, stats.latencies.get(r, [])) for r in ROUTES] + [("all", every)]:
        if values:
            p50, p95, p99 = (v * 1000 for v in percentiles(values))
            print(f"{route:<58}{len(values):>6}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}")
            cells = f"{len(values)} | {p50:.0f} | {p95:.0f} | {p99:.0f}"
            rows.append(f"| {label} | `{route}` | {cells} |")
    if getattr(stats, "locks", None):
        print(stats.locks)
    if getattr(stats, "chains", None):
        print(stats.chains)
    print(f"errors (warm-up included): {len(stats.errors)}")
    for error in sorted(set(stats.errors))[:15]:
        print(f"  {stats.errors.count(error):>5} x {error[:300]}")
    return rows


def print_environment(pg: dict[str, str] | None) -> None:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "?")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    memory = next(line.split()[1] for line in meminfo if line.startswith("MemTotal"))
    print(f"{'Machine':<15}{os.cpu_count()} CPUs ({cpu}), {int(memory) / 2**20:.1f} GiB RAM")
    print(f"{'OS':<15}{platform.platform()}")
    print(f"{'Python':<15}{platform.python_version()}")
    for package in ("SpiffWorkflow", "SQLAlchemy", "Flask", "gunicorn", "psycopg"):
        print(f"{package:<15}{version(package)}")
    print(f"{'SQLite':<15}{sqlite3.sqlite_version}")
    if pg:
        durability = ", ".join(f"{k}={v}" for k, v in pg.items() if k != "server_version")
        print(f"{'PostgreSQL':<15}{pg['server_version']} ({durability})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent users (threads)")
    parser.add_argument("--duration", type=float, default=45, help="measured seconds per database")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--postgres-url", default=None, help="admin URL: scratch database there")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--sealer",
        type=float,
        default=None,
        metavar="SECONDS",
        help="serve as production does (gunicorn_conf.py: schedulers seal every SECONDS)",
    )
    args = parser.parse_args()

    pg = engine_bench.postgres_server(args.postgres_url) if args.postgres_url else None
    if args.postgres_url and pg is None:
        sys.exit(1)
    print_environment(pg)
    rows: list[str] = []
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_load_")))
        if args.postgres_url:
            url = stack.enter_context(engine_bench.postgres_database(args.postgres_url))
            rows += report("PostgreSQL", *run_load(url, args, workdir), args)
        if not args.skip_sqlite:
            sqlite_dir = workdir / "sqlite"
            sqlite_dir.mkdir()
            url = f"sqlite:///{sqlite_dir}/bench.db"
            rows += report("SQLite", *run_load(url, args, sqlite_dir), args)
    print("\n| database | request type | n | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
