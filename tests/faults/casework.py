"""What the fault tests share: people with tokens, the diagrams, and what the database holds.

People and their tokens are written straight into the database (as an administrator's script
would); everything they do afterwards goes over HTTP to the service under test. The checks read
the database directly, because what matters is what was kept, not what a process remembers.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from service.auth import issue_token
from service.users import create_user
from storage import UnitOfWork, make_engine, make_session_factory
from workflows.clock import SystemClock

QUICK = "tests/fixtures/quick_steps.bpmn"
SHARING = "bpmn/information_sharing.bpmn"
# (username, roles, agency, manager): a small team of one school, one manager.
TEAM = [
    ("maya", ["manager"], "school", None),
    ("pat", ["practitioner"], "school", "maya"),
    ("sam", ["practitioner"], "school", "maya"),
    ("kim", ["practitioner"], "school", "maya"),
    ("lou", ["practitioner"], "school", "maya"),
]


def team_tokens(db_url: str, team=TEAM) -> dict[str, str]:
    """Create the team (with email addresses) and a bearer token for each; {username: token}."""
    engine = make_engine(db_url)
    tokens = {}
    clock = SystemClock()
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            for username, roles, agency, manager in team:
                user = create_user(
                    uow.session,
                    clock,
                    username,
                    roles=roles,
                    agency=agency,
                    manager=manager,
                    email=f"{username}@school.example",
                )
                uow.session.flush()
                tokens[username], _ = issue_token(uow.session, user, clock.now(), timedelta(days=1))
            uow.commit()
    finally:
        engine.dispose()
    return tokens


class Db:
    """Plain SQL on the service's database, for the checks."""

    def __init__(self, url: str):
        self.engine = make_engine(url)

    def rows(self, sql: str, **params) -> list:
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def scalar(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def close(self) -> None:
        self.engine.dispose()

    def wait_for(self, condition: Callable[[], bool], seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                timers = self.rows(
                    "SELECT kind, status, attempts, due_at, claimed_by, claimed_until, "
                    "last_error FROM timer ORDER BY due_at"
                )
                raise AssertionError(f"gave up waiting for {what}; timers: {timers}")
            time.sleep(0.2)

    def due_timers_left(self, by: datetime | None = None) -> int:
        """Timers due by ``by`` (default now) that have not fired (nor been cancelled)."""
        by = by or datetime.now(UTC)
        live = self.rows("SELECT due_at FROM timer WHERE status IN ('pending', 'claimed')")
        return sum(1 for (due_at,) in live if _aware(due_at) <= by)

    def duplicate_notifications(self) -> list:
        """The same message to the same person about the same task more than once."""
        return self.rows(
            "SELECT username, task_id, kind, title, COUNT(*) FROM notification "
            "GROUP BY username, task_id, kind, title HAVING COUNT(*) > 1"
        )


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fired_in_log(log_text: str) -> Counter:
    """{timer id: how many "timer fired" lines}, and the lines' workers, from the JSON log."""
    fired: Counter = Counter()
    for line in log_text.splitlines():
        if '"timer fired"' not in line:
            continue
        entry = json.loads(line)
        fired[entry["timer_id"]] += 1
    return fired


def firing_workers(log_text: str) -> Counter:
    """{worker pid: timers it fired}."""
    workers: Counter = Counter()
    for line in log_text.splitlines():
        if '"timer fired"' in line:
            workers[json.loads(line)["worker"].split(":")[1]] += 1
    return workers
