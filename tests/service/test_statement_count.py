"""How many SQL statements completing a task costs (issue 16, "Lean request path").

Every statement is a round trip on PostgreSQL and Python work on either database, so the count is
what a user waits for. Counted: every statement SQLAlchemy sends (``before_cursor_execute`` on the
app's engine) and every write the hot path sends straight to the driver (``storage/prepared.py``,
which SQLAlchemy's events do not see). Transaction control (``BEGIN``, ``COMMIT``, the pipeline's
``SAVEPOINT``) is not counted. Timings are never asserted; counts may be.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from storage import prepared
from tests.support.helpers import deploy_xml, start_instance

# Issue 16: at most 15; 23 at first, then 14, now 9: auth; need-to-know with the task and
# instance rows; the three hot-path writes (save the state, complete the task, insert the task
# that opened); cancel the closed task's timers (it always has its due timer) and resolve its
# escalations; the new task's timers in one INSERT; the audit event. Gone: the BPMN-timer
# reconcile (the instance waits on no timer before or after) and the four reads that built the
# answer after the commit (it is built from the advance, before the commit).
LIMIT = 9


@contextmanager
def counted(app, monkeypatch):
    """The statements sent while the block runs, as text."""
    sent: list[str] = []

    def on_execute(_conn, _cursor, statement, _params, _context, _many):
        sent.append(statement)

    original = prepared.Prepared._send

    def send(self, connection, cursor, values):
        sent.append(
            self._compile(connection.dialect, None).sql
            if not self.statement.is_insert
            else str(self.statement)
        )
        return original(self, connection, cursor, values)

    db = app.extensions["safeguard"].db
    monkeypatch.setattr(prepared.Prepared, "_send", send)
    event.listen(db, "before_cursor_execute", on_execute)
    try:
        yield sent
    finally:
        event.remove(db, "before_cursor_execute", on_execute)


@pytest.fixture
def pat(client, client_for):
    assert deploy_xml(client, filename="three_steps.bpmn").status_code == 201
    return client_for("pat", ["practitioner"], agency="school")


def test_completing_a_task_of_a_cached_instance_is_a_handful_of_statements(app, pat, monkeypatch):
    started = start_instance(pat, business_key="child-1").get_json()
    [task] = started["active_tasks"]
    with counted(app, monkeypatch) as sent:
        response = pat.post(
            f"/api/tasks/{task['id']}/complete", json={"data": {"concern": "x", "severity": 8}}
        )
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert [t["element_id"] for t in answer["active_tasks"]] == ["review"]
    assert answer["variables"]["concern"] == "x"
    listing = "\n".join(f"{i + 1:>3}. {s[:160]}" for i, s in enumerate(sent))
    print(listing)
    assert len(sent) <= LIMIT, listing


# A start: auth, the definition's row (read once: the engine is handed its id), the instance
# and task INSERTs, the new task's timers in one INSERT and the audit event.
START_LIMIT = 6


def test_starting_an_instance_is_a_handful_of_statements(app, pat, monkeypatch):
    start_instance(pat, business_key="child-0")  # the diagram parsed and cached by a first start
    with counted(app, monkeypatch) as sent:
        response = start_instance(pat, business_key="child-1")
    assert response.status_code == 201, response.get_json()
    assert [t["element_id"] for t in response.get_json()["active_tasks"]] == ["describe"]
    listing = "\n".join(f"{i + 1:>3}. {s[:160]}" for i, s in enumerate(sent))
    print(listing)
    assert len(sent) <= START_LIMIT, listing
