"""The worklist query at scale: p95 per view with 1 000 000 task rows and 100 000 open cases.

Why: the worklist is the page every practitioner opens first, and it is read from task rows
only (``tasks/worklist.py``); it has to stay fast when the partnership has years of history.
``benchmarks/seed.py`` fills a separate database (PostgreSQL ``bench_scale``, dropped and
recreated; or a SQLite file), then this script runs the real ``worklist_query`` + ``page`` (first
page of 50, as ``GET /api/tasks`` does) for ``--viewers`` random people per view - ``mine``
(practitioners), ``candidate`` (practitioners, DSLs, managers), ``team`` (managers) - once to warm
the cache, then timed; prints p50/p95/p99 and the plan (``EXPLAIN (ANALYZE, BUFFERS)`` on
PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite) for one viewer of each view.

Usage: ``.venv/bin/python benchmarks/worklist.py [--postgres-url ADMIN_URL] [--sqlite PATH]
[--cases 100000] [--viewers 200] [--keep]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from seed import seed  # benchmarks/seed.py
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from storage import make_engine
from storage.models import User
from tasks.parties import Viewer
from tasks.worklist import page, worklist_query

TARGET_MS = 30.0
VIEWS = {"mine": ("practitioner",), "candidate": ("practitioner", "dsl", "manager")}
VIEWS |= {"team": ("manager",)}


def scale_database(admin_url: str) -> str:
    """A fresh ``bench_scale`` database on the server (never the admin URL's own database)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text('DROP DATABASE IF EXISTS "bench_scale" WITH (FORCE)'))
        connection.execute(text('CREATE DATABASE "bench_scale"'))
    admin.dispose()
    return make_url(admin_url).set(database="bench_scale").render_as_string(hide_password=False)


def viewers(session: Session, roles: tuple[str, ...], count: int, rng: random.Random) -> list:
    people = [
        Viewer(u.id, u.username, frozenset(u.roles), u.agency)
        for u in session.scalars(select(User))
        if set(u.roles) & set(roles)
    ]
    return [rng.choice(people) for _ in range(count)]


def measure(session: Session, view: str, people: list[Viewer]) -> tuple[list[float], int]:
    """Seconds per first page, and the total rows returned (warm: each viewer ran once before)."""
    now = datetime.now(UTC)
    for viewer in people:
        page(session, worklist_query(viewer, view, now), 0, 50)
    seconds, found = [], 0
    for viewer in people:
        started = time.perf_counter()
        rows, _more = page(session, worklist_query(viewer, view, now), 0, 50)
        seconds.append(time.perf_counter() - started)
        found += len(rows)
    return seconds, found


def explain(session: Session, view: str, viewer: Viewer) -> str:
    """The database's plan for the first page, with the statement's own parameters."""
    query = worklist_query(viewer, view, datetime.now(UTC)).offset(0).limit(51)
    connection = session.connection()
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    if connection.dialect.name == "postgresql":
        sql, params = "EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), compiled.params
    else:
        sql = "EXPLAIN QUERY PLAN " + str(compiled)
        params = tuple(_sqlite_value(compiled.params[name]) for name in compiled.positiontup)
    rows = connection.exec_driver_sql(sql, params).all()
    return "\n".join(" | ".join(str(c) for c in row) for row in rows)


def _sqlite_value(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def run(url: str, args) -> dict[str, tuple[float, float, float]]:
    if not args.no_seed:
        seed(url, cases=args.cases)
    db = make_engine(url)
    rng = random.Random(30)
    results = {}
    try:
        with Session(db) as session:
            print(f"\n{'view':<11}{'viewers':>8}{'rows':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
            for view, roles in VIEWS.items():
                people = viewers(session, roles, args.viewers, rng)
                seconds, found = measure(session, view, people)
                cuts = statistics.quantiles(seconds, n=100, method="inclusive")
                p50, p95, p99 = (cuts[i] * 1000 for i in (49, 94, 98))
                results[view] = (p50, p95, p99)
                flag = "" if p95 < TARGET_MS else f"  (over the {TARGET_MS:.0f} ms target)"
                print(
                    f"{view:<11}{len(people):>8}{found:>8}{p50:>9.2f}{p95:>9.2f}{p99:>9.2f}{flag}"
                )
            if not args.no_plans:
                for view, roles in VIEWS.items():
                    [person] = viewers(session, roles, 1, rng)
                    print(f"\n-- plan, view {view}, viewer {person.username}:")
                    print(explain(session, view, person))
    finally:
        db.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=None, help="admin URL; bench_scale is made there")
    parser.add_argument("--sqlite", type=Path, default=None, help="SQLite file (default: temp)")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases (x10 task rows)")
    parser.add_argument("--viewers", type=int, default=200, help="random people per view")
    parser.add_argument("--no-seed", action="store_true", help="reuse an existing seeded database")
    parser.add_argument("--no-plans", action="store_true", help="skip EXPLAIN")
    parser.add_argument("--keep", action="store_true", help="keep bench_scale afterwards")
    args = parser.parse_args()
    if args.postgres_url:
        url = (
            make_url(args.postgres_url).set(database="bench_scale").render_as_string(False)
            if args.no_seed
            else scale_database(args.postgres_url)
        )
        print("== PostgreSQL bench_scale")
        run(url, args)
        if not args.keep:
            admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text('DROP DATABASE IF EXISTS "bench_scale" WITH (FORCE)'))
            admin.dispose()
        return
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as workdir:
        path = args.sqlite or Path(workdir) / "scale.db"
        if path.exists() and not args.no_seed:
            sys.exit(f"{path} exists; remove it or pass --no-seed")
        print(f"== SQLite {path}")
        run(f"sqlite:///{path}", args)


if __name__ == "__main__":
    main()
