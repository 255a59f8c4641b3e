"""A probe table that timer handlers write to, so tests count committed firings, not calls."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from storage.uow import UnitOfWork

PROBE_METADATA = MetaData()
PROBE = Table(
    "timer_probe",
    PROBE_METADATA,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("timer_id", String(36), nullable=False),
    Column("worker", String(120)),
)


class Probe:
    """Handlers that record each firing as a row in the caller's transaction."""

    def __init__(self, engine):
        self.engine = engine

    def record(self, uow: UnitOfWork, timer) -> None:
        uow.session.execute(PROBE.insert().values(timer_id=timer.id, worker=timer.claimed_by))

    def counts(self) -> dict[str, int]:
        statement = select(PROBE.c.timer_id, func.count()).group_by(PROBE.c.timer_id)
        with self.engine.connect() as connection:
            return dict(connection.execute(statement).all())

    def workers(self) -> set[str]:
        with self.engine.connect() as connection:
            return set(connection.scalars(select(PROBE.c.worker).distinct()))


@pytest.fixture
def probe(db_engine):
    PROBE_METADATA.create_all(db_engine)
    try:
        yield Probe(db_engine)
    finally:
        PROBE_METADATA.drop_all(db_engine)
