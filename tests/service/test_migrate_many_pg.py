"""A thousand running cases moved to a new version on PostgreSQL, and each goes on to its end.

The cases are started and driven through the engine in batches (1 000 HTTP round trips would
test the test client); the move itself goes through the API, as a process owner makes it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.context import services
from storage import UnitOfWork
from storage.models import ProcessInstance, Task
from tests.support.helpers import THREE_STEPS_V2, deploy_xml
from tests.workflows.helpers import THREE_STEPS_PATH
from workflows import definitions

pytestmark = pytest.mark.slow
CASES = 1000
BATCH = 100


def _start_many(app) -> list[str]:
    ids: list[str] = []
    engine = services().engine
    for first in range(0, CASES, BATCH):
        with UnitOfWork(services().session_factory) as unit:
            for n in range(first, first + BATCH):
                advance = engine.start(unit, "three_steps", business_key=f"child-{n}")
                ids.append(advance.instance.id)
            unit.commit()
    return ids


def _drive_to_the_end(instance_ids: list[str]) -> None:
    """Answer each step the cases open, in the order of the path, in one transaction."""
    engine = services().engine
    with UnitOfWork(services().session_factory) as unit:
        for instance_id in instance_ids:
            for element_id, answers in THREE_STEPS_PATH:
                task_id = unit.session.scalars(
                    select(Task.id).where(
                        Task.instance_id == instance_id,
                        Task.element_id == element_id,
                        Task.status == "open",
                    )
                ).one()
                engine.complete_task(unit, task_id, answers, user="pat")
        unit.commit()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_thousand_running_cases_move_and_all_reach_their_end(app, client, client_for):
    assert deploy_xml(client).status_code == 201
    with app.app_context():
        ids = _start_many(app)
    assert deploy_xml(client, THREE_STEPS_V2).status_code == 201
    owner = client_for("olive", ["process_owner"], agency="partnership")
    body = {"from_version": 1, "to_version": 2}
    planned = owner.post("/api/process-definitions/three_steps/migration-plan", json=body)
    assert (planned.get_json()["can_move"], planned.get_json()["cannot_move"]) == (CASES, 0)
    done = owner.post("/api/process-definitions/three_steps/migrations", json=body).get_json()
    assert (done["moved"], done["stays"], done["conflict"]) == (CASES, 0, 0)
    with app.app_context():
        for first in range(0, CASES, BATCH):
            _drive_to_the_end(ids[first : first + BATCH])
        with UnitOfWork(services().session_factory) as unit:
            new = definitions.find(unit.session, "three_steps", 2)
            counts = unit.session.execute(
                select(ProcessInstance.status, ProcessInstance.definition_id, func.count())
                .where(ProcessInstance.id.in_(ids))
                .group_by(ProcessInstance.status, ProcessInstance.definition_id)
            ).all()
    assert [tuple(c) for c in counts] == [("completed", new.id, CASES)]
