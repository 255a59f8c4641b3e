"""Durable timers under load: are due timers fired on time, once each, without idle CPU?

Inserts ``--count`` pending timers spread over a year plus ``--due`` timers falling due over the
next ``--window`` seconds, starts one ``TimerScheduler`` (real clock, real APScheduler) and
reports how late each due timer fired (handler start minus due time), that each fired exactly
once (handler calls and ``fired`` rows), and the process CPU used while idle afterwards.

    python benchmarks/timers.py                       # SQLite file in a temp directory
    python benchmarks/timers.py --postgres-url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Timer, new_id  # noqa: E402
from tasks.scheduler import TimerScheduler  # noqa: E402
from workflows.clock import SystemClock  # noqa: E402


def _rows(kind: str, due_times: list[datetime], now: datetime) -> list[dict]:
    return [
        {
            "id": new_id(),
            "kind": kind,
            "due_at": due,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for due in due_times
    ]


def _insert(engine, rows: list[dict], chunk: int = 5000) -> None:
    with engine.begin() as connection:
        for start in range(0, len(rows), chunk):
            connection.execute(insert(Timer), rows[start : start + chunk])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(url: str, count: int, due: int, window: float, idle_seconds: float, sweep: float) -> None:
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM timer"))
    session_factory = make_session_factory(engine)
    rng = random.Random(7)
    now = datetime.now(UTC)
    year = [now + timedelta(seconds=60 + rng.uniform(0, 365 * 86400)) for _ in range(count)]
    started = time.perf_counter()
    _insert(engine, _rows("task_reminder", year, now))
    print(f"inserted {count} timers over a year in {time.perf_counter() - started:.1f} s")

    calls: Counter[str] = Counter()
    lateness: dict[str, float] = {}
    lock = threading.Lock()

    def handler(uow, timer) -> None:
        late = (datetime.now(UTC) - timer.due_at).total_seconds()
        with lock:
            calls[timer.id] += 1
            lateness.setdefault(timer.id, late)

    def far_handler(uow, timer) -> None:
        raise AssertionError("a timer due in months fired")

    scheduler = TimerScheduler(
        session_factory,
        SystemClock(),
        {"task_due": handler, "task_reminder": far_handler},
        sweep_seconds=sweep,
    )
    scheduler.start()
    first = datetime.now(UTC) + timedelta(seconds=0.5)
    soon = sorted(first + timedelta(seconds=rng.uniform(0, window)) for _ in range(due))
    rows = _rows("task_due", soon, now)
    # Written as a service would: commit, then tell the scheduler about the earliest.
    _insert(engine, rows)
    scheduler.rearm(soon[0])
    deadline = time.monotonic() + window + 30
    while len(calls) < due and time.monotonic() < deadline:
        time.sleep(0.1)

    time.sleep(0.5)  # let the last re-arm settle, then measure a quiet process
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    time.sleep(idle_seconds)
    idle_cpu = time.process_time() - cpu_before
    idle_wall = time.perf_counter() - wall_before
    jobs = {job.id: job.next_run_time for job in scheduler.jobs()}
    scheduler.shutdown()

    ids = [r["id"] for r in rows]
    with session_factory() as session:
        fired = session.scalar(
            select(func.count()).where(Timer.id.in_(ids), Timer.status == "fired")
        )
        others = session.scalar(select(func.count()).where(Timer.status != "pending"))
    values = [lateness[i] for i in ids if i in lateness]
    print(f"database: {engine.dialect.name}; {count} far timers + {due} due within {window:g} s")
    if values:
        print(
            f"lateness: median {statistics.median(values) * 1000:.1f} ms, "
            f"p99 {_percentile(values, 0.99) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"
        )
    once = sum(1 for i in ids if calls[i] == 1)
    twice = sum(1 for i in ids if calls[i] > 1)
    print(
        f"fired: {len(values)}/{due} called, {once} exactly once, {twice} more than once, "
        f"{fired} rows marked fired; rows not pending in total: {others}"
    )
    print(
        f"idle: {idle_cpu * 1000:.1f} ms CPU over {idle_wall:.1f} s "
        f"({idle_cpu / idle_wall * 100:.3f} % of one core); jobs: "
        + ", ".join(f"{k} at {v:%Y-%m-%d %H:%M:%S}" for k, v in sorted(jobs.items()))
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--count", type=int, default=100_000, help="timers spread over a year")
    parser.add_argument("--due", type=int, default=1000, help="timers due within the window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds the due ones span")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle measured")
    parser.add_argument("--sweep", type=float, default=60.0, help="safety sweep interval (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres_url or f"sqlite:///{tmp}/timers.db"
        run(url, args.count, args.due, args.window, args.idle, args.sweep)


if __name__ == "__main__":
    main()
