"""Instances per second through the HTTP API: N concurrent clients, ``information_sharing``.

The real thing: ``safeguard db upgrade``, ``safeguard deploy`` and ``safeguard serve`` (waitress)
as subprocesses on a scratch database, then ``--clients`` threads, each with its own keep-alive
``http.client`` connection and its own practitioner (all in agency ``school``), sign in and run
``--instances`` instances each along the "share with consent" path (``ANSWERS``): start, then
complete the task in ``active_tasks`` until the instance is ``completed``. After the service is
stopped, the same answers run on bare SpiffWorkflow with the serialise-per-step loop of
``benchmarks/engine.py`` variant (a), and the ratio is printed.

Usage: ``.venv/bin/python benchmarks/api.py [--clients 8] [--instances 20] [--threads 8]
[--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import engine as engine_bench  # benchmarks/engine.py, next to this file
from answers import ANSWERS  # benchmarks/answers.py
from http_client import PASSWORD, START, Client, HttpError, Stats  # benchmarks/http_client.py
from serving import BIN, ROOT, free_port, launch, safeguard, stop  # benchmarks/serving.py

from storage import UnitOfWork, make_engine, make_session_factory
from workflows.clock import SystemClock

DIAGRAM = ROOT / "bpmn" / "information_sharing.bpmn"
PROCESS_KEY = "information_sharing"
THREE_STEPS = engine_bench.DIAGRAM  # tests/fixtures/three_steps.bpmn
# "Share with consent": a legitimate purpose, restricted (identifies a living person, confidential),
# no safeguarding grounds (so no referral and no advice), consent safe to seek and given.


@dataclass(frozen=True)
class Path_:
    """A process and the answers of one path through it; ``check`` looks at the last answer."""

    process_key: str
    answers: list
    check: object  # Callable[[dict], str | None]: what is wrong with the ended instance


def _shared_with_consent(instance: dict) -> str | None:
    entry = instance["variables"].get("register_entry") or {}
    if entry.get("decision") != "share" or entry.get("with_consent") is not True:
        return f"recorded {entry}"
    return None


SHARING = Path_(PROCESS_KEY, ANSWERS, _shared_with_consent)
THREE = Path_(engine_bench.PROCESS_KEY, engine_bench.PATH, lambda instance: None)


def client_loop(client: Client, username: str, args, barrier: threading.Barrier) -> None:
    stats = client.stats

    def run(count: int) -> None:
        for _ in range(count):
            try:
                client.run_instance()
                if stats.measuring:
                    with stats.lock:
                        stats.completed += 1
            except RuntimeError as err:
                with stats.lock:
                    stats.failed["measured" if stats.measuring else "warm-up"] += 1
                    if not isinstance(err, HttpError):
                        stats.errors.append(f"instance went wrong: {err}")

    try:
        client.sign_in(username)
    except RuntimeError as err:  # still meet the others at the barriers, then give up
        stats.errors.append(f"{username} could not sign in: {err}")
    run(args.warmup if client.token else 0)
    barrier.wait()  # everybody warmed up; the main thread starts the clock
    barrier.wait()
    run(args.instances if client.token else 0)
    client.connection.close()


# -- the service ---------------------------------------------------------------------------------
def add_users(url: str, count: int, prefix: str = "bench", roles=("practitioner",)) -> list[str]:
    """Users of one agency, through the Python API (one argon2 hash each, one commit)."""
    from service.users import create_user

    db = make_engine(url)
    names = [f"{prefix}{i:02d}" for i in range(count)]
    try:
        with UnitOfWork(make_session_factory(db)) as uow:
            for name in names:
                create_user(
                    uow.session, SystemClock(), name, roles=list(roles), password=PASSWORD,
                    agency="school",
                )  # fmt: skip
            uow.commit()
    finally:
        db.dispose()
    return names


def serve(env: dict, threads: int, log: Path) -> tuple[subprocess.Popen, int]:
    """``safeguard serve`` (waitress) with ``threads`` threads, up and healthy."""
    port = free_port()
    command = [str(BIN / "safeguard"), "serve", "--port", str(port), "--threads", str(threads)]
    return launch(command, env, log, port, wait=60), port


def service_problems(log: Path) -> list[str]:
    """The service's log lines above info level, counted by (logger, route, status or error);
    the first traceback of each distinct error in full."""
    counts: dict[str, int] = defaultdict(int)
    tracebacks: dict[str, str] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
            level = str(entry.get("level", "")).lower()
        except (ValueError, AttributeError):
            entry, level = {"message": line}, "text"  # waitress and Python warnings
        if level in ("info", "debug") or line.startswith("safeguard-flow listening"):
            continue
        what = entry.get("exc_type", "") + ": " + entry.get("exc", "") if "exc" in entry else ""
        key = (
            " ".join(
                str(x)
                for x in (entry.get("logger"), entry.get("route"), entry.get("status"), what)
                if x
            )
            or entry.get("message", "")[:200]
        )
        counts[key] += 1
        if "traceback" in entry and key not in tracebacks:
            tracebacks[key] = entry["traceback"]
    lines = [f"{n:>5} x {key}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    for key, trace in tracebacks.items():
        lines.append(f"first traceback of {key}:\n{trace}")
    return lines


# -- the run -------------------------------------------------------------------------------------
@dataclass
class Phase:
    """One diagram's measured phase: what the clients saw and the service's CPU per route."""

    path: Path_
    stats: Stats
    wall: float
    cpu_ms: dict[str, list[float]]  # route -> CPU ms of each request (service/cpu.py)


def cpu_lines(log: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text().splitlines():
        route, _, ms = line.rpartition("\t")
        if route:
            found[route].append(float(ms))
    return found


def measure_path(port: int, path: Path_, names: list[str], args, cpu_log: Path, pid: int) -> Phase:
    stats = Stats()
    barrier = threading.Barrier(len(names) + 1)
    clients = [Client(port, stats, path) for _ in names]
    threads = [
        threading.Thread(target=client_loop, args=(c, n, args, barrier), daemon=True)
        for c, n in zip(clients, names, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()  # warm-up done
    stats.measuring = True
    cpu_log.write_bytes(b"")  # the service appends to it (O_APPEND): from here on
    cpu = (cpu_seconds(pid), time.process_time())
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    stats.cpu = (cpu_seconds(pid) - cpu[0], time.process_time() - cpu[1])
    return Phase(path, stats, wall, cpu_lines(cpu_log))


def measure_reads(port: int, name: str, count: int, cpu_log: Path) -> dict[str, list[float]]:
    client = Client(port, Stats(), SHARING)
    client.sign_in(name)
    client.read(5)  # warm-up
    cpu_log.write_bytes(b"")
    client.read(count)
    client.connection.close()
    return cpu_lines(cpu_log)


def run_api(url: str, args, workdir: Path) -> tuple[list[Phase], dict, list[str]]:
    cpu_log = workdir / "cpu.log"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    env["SAFEGUARD_CPU_LOG"] = str(cpu_log)
    safeguard(env, "db", "upgrade")
    print(safeguard(env, "deploy", str(DIAGRAM), "--by", "bench"))
    print(safeguard(env, "deploy", str(THREE_STEPS), "--by", "bench"))
    names = add_users(url, args.clients)
    both = add_users(url, args.clients, "tri", ("practitioner", "manager"))
    log = args.log or workdir / "service.log"
    log.write_bytes(b"")
    process, port = serve(env, args.threads, log)
    try:
        phases = [
            measure_path(port, SHARING, names, args, cpu_log, process.pid),
            measure_path(port, THREE, both, args, cpu_log, process.pid),
        ]
        reads = measure_reads(port, names[0], args.reads, cpu_log)
    finally:
        stop(process)
    return phases, reads, service_problems(log)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3 if values else (float("nan"),) * 3
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def print_environment(pg: dict[str, str] | None) -> None:
    print(f"{'Machine':<15}{os.cpu_count()} CPUs, {platform.platform()}")
    print(f"{'Python':<15}{platform.python_version()} ({platform.python_implementation()})")
    for package in ("SpiffWorkflow", "SQLAlchemy", "Flask", "waitress"):
        print(f"{package:<15}{version(package)}")
    if pg:
        durability = ", ".join(f"{k}={v}" for k, v in pg.items() if k != "server_version")
        print(f"{'Database':<15}PostgreSQL {pg['server_version']} ({durability})")
    else:
        print(f"{'Database':<15}SQLite {sqlite3.sqlite_version} (temp file, WAL)")


def print_cpu(phases: list[Phase], reads: dict[str, list[float]]) -> None:
    """Service-thread CPU per request by route (service/cpu.py), and the process's total."""
    print(f"\n{'service CPU per request (thread time)':<58}{'n':>6}{'mean ms':>9}{'p50 ms':>9}")
    for title, found in [(p.path.process_key, p.cpu_ms) for p in phases] + [("reads", reads)]:
        for route, values in sorted(found.items()):
            p50 = statistics.median(values)
            name = f"{title}: {route}"
            print(f"{name:<58}{len(values):>6}{statistics.fmean(values):>9.2f}{p50:>9.2f}")
    for phase in phases:
        n = sum(len(v) for v in phase.cpu_ms.values())
        whole = phase.stats.cpu[0] * 1000 / n if n else float("nan")
        print(f"{phase.path.process_key}: whole service process {whole:.2f} ms CPU per request")


def print_api(stats: Stats, wall: float, problems: list[str], args, path: Path_ = SHARING) -> float:
    rate = stats.completed / wall
    answers = path.answers
    requests = sum(len(v) for k, v in stats.latencies.items() if k.startswith("POST /api/"))
    print(
        f"\nAPI: {args.clients} clients x {args.instances} instances after {args.warmup} warm-up "
        f"each; waitress threads={args.threads}; {path.process_key}: an instance = 1 start + "
        f"{len(answers)} completions"
    )
    print(
        f"completed {stats.completed} instances in {wall:.2f} s: {rate:.1f} instances/s, "
        f"{requests / wall:.1f} requests/s; failed instances {stats.failed}"
    )
    service, clients = stats.cpu
    print(
        f"CPU during the measured phase: service {service:.1f} s, client threads {clients:.1f} s "
        f"(of {wall * (os.cpu_count() or 1):.1f} CPU-seconds available; PostgreSQL not counted)"
    )
    print(f"\n{'route':<58}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    order = [START] + [f"POST /api/tasks/{{id}}/complete [{e}]" for e, _ in answers]
    for route in order + sorted(set(stats.latencies) - set(order)):
        values = stats.latencies.get(route, [])
        if values:
            p50, p95, p99 = (v * 1000 for v in percentiles(values))
            print(f"{route:<58}{len(values):>6}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}")
    every = [v for values in stats.latencies.values() for v in values]
    p50, p95, p99 = (v * 1000 for v in percentiles(every))
    print(f"{'all requests':<58}{len(every):>6}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}")
    print(f"\nerrors (non-2xx answers, wrong paths; warm-up included): {len(stats.errors)}")
    for error, n in sorted(Counter(stats.errors).items(), key=lambda kv: -kv[1]):
        print(f"  {n:>5} x {error}")
    print("service log above info level:" + ("" if problems else " nothing"))
    for line in problems:
        print(f"  {line}")
    return rate


def bare_rates(args) -> tuple[float, float]:
    """Variant (a) of benchmarks/engine.py on information_sharing (same answers) and three_steps."""
    settings = argparse.Namespace(instances=args.bare_instances, warmup=20, repeat=3)
    ours = engine_bench.bare_runner(DIAGRAM, PROCESS_KEY, ANSWERS)
    sharing = engine_bench.measure("bare information_sharing", ours, settings)
    three = engine_bench.measure("bare three_steps", engine_bench.bare_runner(), settings)
    return sharing.median, three.median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--instances", type=int, default=20, help="timed instances per client")
    parser.add_argument("--warmup", type=int, default=2, help="untimed instances per client first")
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--postgres-url", default=None, help="admin URL: use a scratch database")
    parser.add_argument("--log", type=Path, default=None, help="keep the service log here")
    parser.add_argument("--bare-instances", type=int, default=200, help="per bare timed run")
    parser.add_argument("--reads", type=int, default=200, help="task reads and worklists timed")
    args = parser.parse_args()

    pg = engine_bench.postgres_server(args.postgres_url) if args.postgres_url else None
    if args.postgres_url and pg is None:
        sys.exit(1)
    print_environment(pg)
    before = bare_rates(args)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_api_")))
        if args.postgres_url:
            url = stack.enter_context(engine_bench.postgres_database(args.postgres_url))
        else:
            url = f"sqlite:///{workdir}/bench.db"
        phases, reads, problems = run_api(url, args, workdir)
    rates = [print_api(p.stats, p.wall, problems, args, p.path) for p in phases]
    print_cpu(phases, reads)
    after = bare_rates(args)
    sharing, three = ((b + a) / 2 for b, a in zip(before, after, strict=True))
    print(
        f"\nbare SpiffWorkflow (engine.py variant (a), median of 3 x {args.bare_instances}; "
        "mean of the runs before and after the API phase):"
    )
    print(
        f"  information_sharing, same answers: {sharing:.1f} instances/s "
        f"(before {before[0]:.1f}, after {after[0]:.1f})"
    )
    print(
        f"  three_steps:                       {three:.1f} instances/s "
        f"(before {before[1]:.1f}, after {after[1]:.1f})"
    )
    print(f"ratio API / bare information_sharing: {rates[0] / sharing:.2f}")
    print(f"ratio API / bare three_steps:         {rates[1] / three:.2f}")


if __name__ == "__main__":
    main()
