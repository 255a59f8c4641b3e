"""Crash soak: kill -9 the service again and again under load; nothing acknowledged may be lost.

Why beside ``tests/faults/test_crash.py``: that test kills four times in a test run; this runs a
hundred cycles or more, long enough for a rare window (a kill between a commit and its answer,
inside the sealer's batch, while the heads file is written) to be hit, and reports figures.

The service runs as production does — ``safeguard serve`` (waitress) on SQLite, ``gunicorn -c
service/gunicorn_conf.py`` (``--workers``) on PostgreSQL — so every process runs its scheduler:
reads flushed every second, the audit trail and the sharing register sealed every
``AUDIT_SEAL_SECONDS`` (1 here), heads published to a file. ``--threads`` practitioners (who
are managers too) start ``information_sharing`` ("share with consent", one register decision
and one linked entry each) and ``three_steps`` instances in turn and complete their steps, each
completion after a worklist read. Every cycle the whole process group gets SIGKILL at a random
moment, then the service is started again; a client whose request got no answer reloads its
instance (which must load and go on) or, after a start, forgets it.

At the end, with the service stopped: every acknowledged start and completion is in the
database with its audit event; every instance still running loads and is completed through
the API; each decision is registered once; the chains are sealed (what the restarted services
left unsealed is counted, then ``safeguard audit seal``) and verified with the heads file,
with nothing unsealed (``safeguard audit verify`` with a bound of 0).

Usage: ``.venv/bin/python benchmarks/crash_soak.py --cycles 100 [--sqlite | --postgres URL]
[--threads 3] [--workers 2] [--seed 16]``
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import engine as engine_bench  # benchmarks/engine.py, next to this file
from answers import ANSWERS
from api import DIAGRAM, add_users, serve
from load import gunicorn  # benchmarks/load.py
from serving import BIN, ROOT, safeguard, stop
from soak_client import Journal, SoakClient  # benchmarks/soak_client.py
from sqlalchemy import create_engine, select, text

from storage.models import AuditEvent, SharingRecord

STEPS = {**dict(ANSWERS), **dict(engine_bench.PATH)}
PROCESSES = ("information_sharing", "three_steps")


def start_service(url: str, env: dict, args, log: Path):
    """The service as production starts it for this database, up and healthy."""
    if url.startswith("postgresql"):
        return gunicorn(env, args.workers, 4, log, production=True)
    return serve(env, 8, log)


def kill(process) -> None:
    """SIGKILL to the whole process group: master, workers, schedulers, no goodbye."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def client_loop(client: SoakClient, up: threading.Event, done: threading.Event, rng) -> None:
    """Start, read, complete, again; after a cut-off request reload what it was doing."""
    while not done.is_set():
        up.wait()
        try:
            if client.current is None:
                client.start(PROCESSES[rng.randrange(2)])
            else:
                client.read_worklist()
                client.complete_next(STEPS)
        except ConnectionError:
            up.wait()
            time.sleep(0.05)
            client.resume()


def run(url: str, args, workdir: Path) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
        "AUDIT_SEAL_SECONDS": "1",
        "AUDIT_HEADS_FILE": str(workdir / "heads.jsonl"),
    }
    safeguard(env, "db", "upgrade")
    safeguard(env, "deploy", str(DIAGRAM), str(engine_bench.DIAGRAM), "--by", "soak")
    names = add_users(url, args.threads, prefix="soak", roles=("practitioner", "manager"))
    log = workdir / "service.log"
    rng = random.Random(args.seed)
    journal, up, done = Journal(), threading.Event(), threading.Event()
    began = time.monotonic()
    process, port = start_service(url, env, args, log)
    clients = [SoakClient(port, name, journal) for name in names]
    for client in clients:
        client.sign_in()
    up.set()
    threads = [
        threading.Thread(
            target=client_loop, args=(c, up, done, random.Random(rng.random())), daemon=True
        )
        for c in clients
    ]
    for thread in threads:
        thread.start()
    restarts = []
    try:
        for cycle in range(1, args.cycles + 1):
            time.sleep(rng.uniform(args.min_load, args.max_load))
            up.clear()
            kill(process)
            started = time.monotonic()
            process, port = start_service(url, env, args, log)
            restarts.append(time.monotonic() - started)
            for client in clients:
                client.port = port
            up.set()
            if cycle % 10 == 0:
                print(f"cycle {cycle}: {journal.summary()}", flush=True)
        time.sleep(1)
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        finished = [SoakClient(port, name, journal, fresh=True) for name in names]
        for client in finished:
            client.sign_in()
        resumed = finish_every_instance(url, finished)
    finally:
        done.set()
        up.set()
        stop(process)  # the last stop is clean: what it had queued is written
    figures = check(url, env, journal)
    figures.update(
        cycles=args.cycles,
        seconds=round(time.monotonic() - began),
        restart_seconds=round(sum(restarts) / max(len(restarts), 1), 1),
        resumed=resumed,
    )
    return figures


def finish_every_instance(url: str, clients: list[SoakClient]) -> dict:
    """Each instance still running is loaded and completed through the API by who started it."""
    by_name = {c.name: c for c in clients}
    engine = create_engine(url)
    with engine.connect() as connection:
        running = connection.execute(
            text("SELECT id, started_by FROM process_instance WHERE status = 'running'")
        ).all()
    engine.dispose()
    finished = stuck = 0
    for instance_id, started_by in running:
        client = by_name[started_by]
        client.current = client.load(instance_id)
        for _ in range(10):
            if client.current is None:
                break
            client.complete_next(STEPS)
        if client.current is None:
            finished += 1
        else:
            stuck += 1
            client.journal.problem(f"instance {instance_id} did not run to its end")
    return {"running_after_the_last_kill": len(running), "completed": finished, "stuck": stuck}


def check(url: str, env: dict, journal: Journal) -> dict:
    """What the database says about what the clients were told."""
    engine = create_engine(url)
    with engine.connect() as connection:
        q = connection.execute
        instances = {
            r.id: r for r in q(text("SELECT id, started_by, business_key FROM process_instance"))
        }
        tasks = {r.id: r for r in q(text("SELECT id, status, completed_by FROM task"))}
        events = {
            (r.action, r.task_id or r.instance_id)
            for r in q(
                text(
                    "SELECT action, task_id, instance_id FROM audit_event "
                    "WHERE action IN ('tasks.complete', 'instances.start')"
                )
            )
        }
        reads = q(
            text("SELECT COUNT(*) FROM audit_event WHERE action = 'tasks.list_tasks'")
        ).scalar()
        twice = q(
            text(
                "SELECT instance_id FROM sharing_record WHERE corrects IS NULL AND follows IS NULL"
                " GROUP BY instance_id HAVING COUNT(*) > 1"
            )
        ).all()
        unsealed = {
            noun: [at for (at,) in q(select(column).where(model.seq.is_(None)))]
            for noun, model, column in (
                ("events", AuditEvent, AuditEvent.at),
                ("entries", SharingRecord, SharingRecord.recorded_at),
            )
        }
    engine.dispose()
    old = datetime.now(UTC) - timedelta(seconds=5)
    lost = [
        i
        for i, who in journal.started.items()
        if i not in instances or instances[i].started_by != who
    ]
    lost += [
        t
        for t, who in journal.completed.items()
        if t not in tasks or (tasks[t].status, tasks[t].completed_by) != ("completed", who)
    ]
    unaudited = [i for i in journal.started if ("instances.start", i) not in events]
    unaudited += [t for t in journal.completed if ("tasks.complete", t) not in events]
    sealed = safeguard(env, "audit", "seal")
    verified = subprocess.run(  # a bound of 0: anything still unsealed fails
        [str(BIN / "safeguard"), "audit", "verify"],
        cwd=ROOT,
        env={**env, "AUDIT_SEAL_BOUND_SECONDS": "0"},
        capture_output=True,
        text=True,
    )
    return {
        "acknowledged": journal.acknowledged(),
        "cut_off": journal.cut_off,
        "lost_acknowledged_changes": len(lost),
        "changes_without_their_audit_event": len(unaudited),
        "worklist_reads_acknowledged": journal.reads,
        "read_events_lost": journal.reads - reads,
        "decisions_registered_twice": len(twice),
        "left_unsealed_at_the_end": {k: len(v) for k, v in unsealed.items()},
        "of_them_older_than_5_s": {k: sum(at < old for at in v) for k, v in unsealed.items()},
        "sealed_then": sealed,
        "verify": (verified.stdout + verified.stderr).strip().replace("\n", "; "),
        "verify_exit": verified.returncode,
        "problems": journal.problems[:20],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100, help="kills (and restarts)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--sqlite", action="store_true", help="a scratch SQLite file (default)")
    where.add_argument("--postgres", metavar="URL", help="admin URL: a scratch database there")
    parser.add_argument("--threads", type=int, default=3, help="client threads, one user each")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (PostgreSQL)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--min-load", type=float, default=0.5, help="seconds of load, at least")
    parser.add_argument("--max-load", type=float, default=2.5, help="seconds of load, at most")
    args = parser.parse_args()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crash_soak_")))
        if args.postgres:
            url = stack.enter_context(engine_bench.postgres_database(args.postgres))
        else:
            url = f"sqlite:///{workdir / 'soak.db'}"
        figures = run(url, args, workdir)
    print(f"\n== crash soak on {'PostgreSQL' if args.postgres else 'SQLite'}")
    for key, value in figures.items():
        print(f"{key:<36}{value}")
    bad = (
        figures["lost_acknowledged_changes"]
        or figures["changes_without_their_audit_event"]
        or figures["decisions_registered_twice"]
        or figures["resumed"]["stuck"]
        or figures["problems"]
        or figures["verify_exit"]
        or any(figures["of_them_older_than_5_s"].values())
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
